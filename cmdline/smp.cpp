#include <fmt/format.h>

#include "cmdline/core_configurators.hpp"

namespace qmd::cmdline {

std::uint32_t boot_vcpus(const policy::VmSpec& spec) {
  const auto& c = spec.domain.cpu;
  return c.sockets.value_or(1) * c.cores.value_or(1) * c.threads.value_or(1);
}

std::uint32_t max_vcpus(const policy::VmSpec& spec) {
  const auto& c = spec.domain.cpu;
  return c.max_sockets.value_or(c.sockets.value_or(1)) * c.cores.value_or(1) *
         c.threads.value_or(1);
}

void SmpConfigurator::configure(const policy::VmSpec& spec, RenderResult& out) const {
  const auto& c = spec.domain.cpu;
  const auto vcpus = boot_vcpus(spec);
  const auto maxcpus = max_vcpus(spec);
  std::string smp = fmt::format("{},sockets={},cores={},threads={}", vcpus,
                                c.max_sockets.value_or(c.sockets.value_or(1)), c.cores.value_or(1),
                                c.threads.value_or(1));
  if (maxcpus != vcpus) {
    smp += fmt::format(",maxcpus={}", maxcpus);
  }
  out.argv.add("-smp", smp);
  out.pinning.vcpus = vcpus;
  out.pinning.dedicated = c.dedicated_cpu_placement.value_or(false);
  out.pinning.isolate_emulator_thread = c.isolate_emulator_thread.value_or(false);
  out.pinning.numa_passthrough = c.numa_guest_mapping_passthrough.value_or(false);
}

}  // namespace qmd::cmdline
