#pragma once
// /dev/kvm: does it exist, can we create a VM, and can a QEMU dropped to an unprivileged
// user open it.
#include <string>
#include <sys/types.h>

#include "policy/host_caps.hpp"

namespace qmd::policy {

// Fills kvm_present, kvm_usable and kvm_detail.
void probe_kvm(HostCaps& caps, const std::string& device = "/dev/kvm");

// What a QEMU running as an unprivileged user needs to open a device with this mode and
// owner ("" when anyone may read and write it). `owner`/`group` are names.
std::string kvm_access_note(const std::string& device, mode_t mode, const std::string& owner,
                            const std::string& group);

// Fills tsc_khz (what KVM gives a new vCPU, as QEMU reads it: KVM_GET_TSC_KHZ; 0 when that
// fails) and tsc_scaling (KVM_CAP_TSC_CONTROL).
void probe_kvm_tsc(HostCaps& caps, const std::string& device = "/dev/kvm");

}  // namespace qmd::policy
