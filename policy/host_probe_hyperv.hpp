#pragma once
// Which Hyper-V enlightenments QEMU can actually enable under KVM on this host.
#include <chrono>

#include "policy/host_caps.hpp"

namespace qmd::policy {

// Needs kvm_usable and qemu_binary. First checks that `-cpu host` starts at all (falling
// back to qemu64 as the base when it does not), then starts QEMU once per known feature,
// in parallel, each bounded by the deadline. Fills cpu_host_*, hyperv*, hyperv_probed.
void probe_hyperv(HostCaps& caps, std::chrono::steady_clock::time_point deadline);

}  // namespace qmd::policy
