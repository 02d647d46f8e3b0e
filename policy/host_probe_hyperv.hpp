#pragma once
// Which Hyper-V enlightenments QEMU can actually enable on this host, under KVM and TCG.
#include <chrono>

#include "policy/host_caps.hpp"

namespace qmd::policy {

// Needs qemu_binary and kvm_usable. Under KVM first checks that `-cpu host` starts at all
// (falling back to qemu64 as the base when it does not); then, for KVM (when usable) and for
// TCG, starts QEMU once per known feature, in parallel, each bounded by the deadline. Fills
// cpu_host_*, hyperv*, hyperv_tcg*.
void probe_hyperv(HostCaps& caps, std::chrono::steady_clock::time_point deadline);

}  // namespace qmd::policy
