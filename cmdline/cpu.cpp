#include <fmt/format.h>

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

}  // namespace

void CpuConfigurator::configure(const policy::VmSpec& spec, RenderResult& out) const {
  std::string cpu = qemu_model(spec.domain.cpu.model, kvm_);
  if (spec.domain.features.kvm_hidden.value_or(false)) {
    cpu += ",kvm=off";
  }
  if (spec.domain.clock.kvm && spec.domain.clock.kvm->present == false) {
    cpu += ",kvmclock=off";
  }
  for (const auto& flag : hyperv_cpu_flags(spec, dropped_)) {
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
