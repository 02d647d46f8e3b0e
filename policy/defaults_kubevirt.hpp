#pragma once
// What KubeVirt's mutating webhook and VM controller add to a spec before libvirt sees it:
// apply_defaults and apply_presets run these so that a spec means here what it means there.
// Each one changes only what the spec leaves unset, and is idempotent.
#include "policy/spec.hpp"

namespace qmd::policy::kubevirt {

// libvirt aligns guest memory up to 1 MiB; do the same, with a warning at `field` (where the
// figure came from: domain.memory.guest or the resources it followed) giving the size used.
void align_guest_memory(VmSpec& spec, std::string_view field);

// SetDefaultVolumeDisk: a volume that no disk names gets a disk of that name, default settings.
void add_volume_disks(VmSpec& spec);

// With no networking declared (and autoattachPodInterface not false): a pod network and a
// masquerade interface named `default`.
void add_default_pod_network(VmSpec& spec);

// KubeVirt bridges the pod's interface to the guest, which then has the pod's address. Here
// qmd's NAT network is the pod network, and an interface on it is masquerade (with a warning):
// the guest gets its address there by DHCP.
void bridge_on_pod_network(VmSpec& spec);

// A Hyper-V feature whose prerequisite is absent gets the prerequisite turned on (synic ->
// vpindex, synictimer -> synic + clock.timer.hyperv, tlbflush/ipi -> vpindex, evmcs and
// tlbflush.direct -> vapic; evmcs -> cpu.features vmx with policy require), with a warning
// naming each feature added. A prerequisite the spec turns off stays off: validation
// reports it.
void enable_hyperv_prerequisites(VmSpec& spec);

// KubeVirt annotations that change the VM in a cluster and do nothing here get a warning:
// hooks.kubevirt.io/hookSidecars (sidecars that edit libvirt's domain in the VM's pod).
void warn_cluster_annotations(VmSpec& spec);

// Secure boot needs SMM: turned on when efi.secureBoot is on and features.smm is unset.
void enable_smm_for_secure_boot(VmSpec& spec);

}  // namespace qmd::policy::kubevirt
