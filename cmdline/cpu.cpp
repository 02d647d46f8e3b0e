#include <fmt/format.h>

#include "cmdline/core_configurators.hpp"

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
  out.argv.add("-cpu", cpu);
}

}  // namespace qmd::cmdline
