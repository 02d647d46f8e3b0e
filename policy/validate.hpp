#pragma once
// Checks of a parsed spec: field values, cross-field rules, and the spec against a host.
#include <expected>
#include <map>
#include <string>
#include <vector>

#include "policy/host_caps.hpp"
#include "policy/port_forward.hpp"
#include "policy/spec.hpp"
#include "policy/spec_error.hpp"

namespace qmd::policy {

// What the daemon's config (or qmctl flags) says about how to run VMs.
struct RunPolicy {
  bool use_emulation = false;        // KubeVirt's useEmulation: TCG instead of KVM
  enum class Hyperv { strict, best_effort } hyperv = Hyperv::strict;
  std::string state_dir;             // where persistent TPM/EFI state lives; "" = none
  std::map<std::string, std::string> pvc_dirs;  // unused for now: PVC name -> directory
  std::map<std::string, std::string> bridges;   // multus networkName -> host bridge
  // The host ports the daemon chose for this run (interfaces[].ports); a forward missing
  // here is rendered on its own number.
  std::vector<PortForward> port_forwards;
  // qmd cannot create taps (it is not root): masquerade interfaces use a passt sidecar.
  bool passt_for_masquerade = false;
  // masquerade interfaces become a tap on qmd's managed NAT bridge (network.masquerade: nat)
  // instead of QEMU's user-mode networking.
  bool masquerade_nat = false;
};

// Fills KubeVirt's defaults into every unset field that rendering needs (q35, 1 socket/
// core/thread, bios unless efi, utc, virtio bus, ...). Idempotent.
VmSpec apply_defaults(VmSpec spec);

// The bus a disk uses: its own, or KubeVirt's default for its kind (disk virtio, cdrom sata,
// lun scsi). Validation and rendering both need it before or without apply_defaults.
std::string disk_bus(const DiskDevice& disk);

// Values and cross-field rules, independent of the host. Every error, not the first.
SpecErrors validate_spec(const VmSpec& spec, const RunPolicy& policy);

// The spec against this host: KVM, Hyper-V features (strict vs best effort), hugepage pools,
// memory, OVMF, swtpm, vhost, launch security, machine type, CPU model. Best-effort drops
// are returned as warnings in `dropped_hyperv`.
struct HostCheck {
  SpecErrors errors;
  std::vector<std::string> dropped_hyperv;  // features dropped under bestEffort
  std::vector<std::string> dropped_cpu_flags;  // cpu.features (optional) the host lacks
  std::vector<std::string> warnings;
};
HostCheck check_host(const VmSpec& spec, const HostCaps& host, const RunPolicy& policy);

}  // namespace qmd::policy
