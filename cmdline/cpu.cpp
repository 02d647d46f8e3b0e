#include <fmt/format.h>

#include <algorithm>

#include "cmdline/core_configurators.hpp"
#include "policy/tsc.hpp"

namespace qmd::cmdline {

namespace {

// KubeVirt's model names to QEMU's. host-model keeps QEMU's migratable filtering (only
// features that can be migrated); host-passthrough exposes everything and pins the VM to
// identical hosts.
std::string qemu_model(const std::optional<std::string>& model, bool kvm) {
  const std::string m = model.value_or(kvm ? "host-model" : "max");
  if (m == "host-model") {
    return "host";
  }
  if (m == "host-passthrough") {
    return "host,migratable=off";
  }
  return m;
}

// KubeVirt's cpu.features policies as QEMU's +flag / -flag; optional flags the host lacks
// (check_host dropped them) are left out.
std::vector<std::string> cpu_feature_flags(const policy::CpuSpec& cpu,
                                           const std::vector<std::string>& dropped) {
  std::vector<std::string> flags;
  for (const auto& f : cpu.features) {
    const std::string policy = f.policy.value_or("require");
    if (policy == "disable" || policy == "forbid") {
      flags.push_back("-" + f.name);
    } else if (std::ranges::find(dropped, f.name) == dropped.end()) {
      flags.push_back("+" + f.name);
    }
  }
  return flags;
}

}  // namespace

void CpuConfigurator::configure(const policy::VmSpec& spec, RenderResult& out) const {
  std::string cpu = qemu_model(spec.domain.cpu.model, kvm_);
  if (spec.domain.features.kvm_hidden.value_or(false)) {
    cpu += ",kvm=off";
  }
  if (spec.domain.clock.kvm && spec.domain.clock.kvm->present == false) {
    cpu += ",kvmclock=off";
  }
  // libvirt's <pvspinlock state=.../>, which KubeVirt's features.pvspinlock becomes.
  if (const auto& pv = spec.domain.features.pvspinlock) {
    cpu += pv->enabled.value_or(true) ? ",kvm-pv-unhalt=on" : ",kvm-pv-unhalt=off";
  }
  for (const auto& flag : hyperv_cpu_flags(spec, dropped_)) {
    cpu += "," + flag;
  }
  if (hv_crash_) {
    cpu += ",hv-crash";
  }
  for (const auto& flag : cpu_feature_flags(spec.domain.cpu, dropped_cpu_flags_)) {
    cpu += "," + flag;
  }
  // check_host already warned about each dropped feature, naming the spec field.
  // A guest that reads the TSC frequency once must see it unchanged after a migration: pin
  // it (QEMU takes Hz). TCG has no host TSC to pin.
  if (kvm_ && policy::cpu_needs_fixed_tsc(cpu)) {
    if (tsc_khz_ != 0) {
      cpu = policy::with_tsc_frequency(cpu, tsc_khz_ * 1000);
    } else {
      out.warnings.push_back(
          "this host's TSC frequency is unknown, so tsc-frequency is not pinned: the VM "
          "(invtsc, hv-frequencies or hv-reenlightenment) will not be migratable");
    }
  }
  out.argv.add("-cpu", cpu);
}

}  // namespace qmd::cmdline
