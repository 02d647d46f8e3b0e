#pragma once
// cpu.features against the host CPU: which flags the host has (/proc/cpuinfo), how KubeVirt's
// (libvirt's) names compare with them, and the policies that depend on the host.
#include <string>
#include <string_view>
#include <vector>

#include "policy/host_caps.hpp"
#include "policy/spec.hpp"
#include "policy/spec_error.hpp"

namespace qmd::policy {

// The flags of the first "flags" line of /proc/cpuinfo's text, in order.
std::vector<std::string> parse_cpuinfo_flags(std::string_view cpuinfo);

// One spelling for a flag, whether it comes from libvirt, QEMU or /proc/cpuinfo: lowercase,
// '-' for '_', and QEMU's name where the kernel's differs (pni -> sse3, sse4_1 -> sse4.1).
std::string canonical_cpu_flag(std::string_view name);

// Whether the host offers `name` to a KVM guest: it is among `host_flags`, or KVM provides it
// to every guest itself (hypervisor, x2apic, tsc-deadline, the kvm-* paravirtual flags).
bool host_has_cpu_flag(const std::vector<std::string>& host_flags, std::string_view name);

// The host-dependent policies under KVM: `require` needs the flag, `forbid` refuses a host that
// has it, `optional` flags the host lacks are left out (returned, with a warning each).
// `evmcs_dropped`: the Hyper-V check dropped evmcs, so what evmcs required
// (CpuFeature::for_evmcs) is optional.
struct CpuFlagCheck {
  SpecErrors errors;
  std::vector<std::string> dropped;  // optional flags the host lacks, as the spec names them
  std::vector<std::string> warnings;
};
CpuFlagCheck check_cpu_flags(const VmSpec& spec, const HostCaps& host, bool evmcs_dropped = false);

// The cpu.features hyperv.evmcs required, by name (TCG drops them with evmcs).
std::vector<std::string> flags_for_evmcs(const VmSpec& spec);

}  // namespace qmd::policy
