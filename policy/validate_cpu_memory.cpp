// CPU topology, memory sizes and resources.
#include <fmt/format.h>

#include <cmath>

#include "policy/validate_rules.hpp"

namespace qmd::policy::rules {
namespace {

constexpr std::uint64_t kMi = 1024 * 1024;
constexpr std::uint64_t kGi = 1024 * kMi;
constexpr std::uint64_t kMaxVcpus = 4096;  // QEMU q35's max_cpus with x2apic

void validate_topology(const VmSpec& spec, SpecErrors& errors) {
  const auto& cpu = spec.domain.cpu;
  std::uint64_t vcpus = 1;
  bool valid = true;
  for (auto [name, value] : {std::pair{"sockets", cpu.sockets}, std::pair{"cores", cpu.cores},
                             std::pair{"threads", cpu.threads}}) {
    if (value && *value < 1) {
      errors.push_back(
          spec.source.error_at(fmt::format("domain.cpu.{}", name), "must be at least 1"));
      valid = false;
    }
    vcpus *= value.value_or(1);
  }
  if (valid && vcpus > kMaxVcpus) {
    errors.push_back(spec.source.error_at(
        "domain.cpu", fmt::format("sockets * cores * threads is {} vCPUs; at most {} are supported",
                                  vcpus, kMaxVcpus)));
  }
  if (cpu.max_sockets && *cpu.max_sockets < cpu.sockets.value_or(1)) {
    errors.push_back(spec.source.error_at(
        "domain.cpu.maxSockets", fmt::format("is {} but sockets is {}; maxSockets must be at "
                                             "least sockets",
                                             *cpu.max_sockets, cpu.sockets.value_or(1))));
  }
}

// "977Mi", or "977Mi (1024000000 bytes aligned up to 1Mi)" when the spec's figure was aligned.
std::string guest_figure(const MemorySpec& mem) {
  if (mem.guest_unaligned) {
    return fmt::format("{} ({} bytes aligned up to 1Mi)", format_bytes(*mem.guest),
                       *mem.guest_unaligned);
  }
  return format_bytes(*mem.guest);
}

void validate_guest_size(const VmSpec& spec, SpecErrors& errors) {
  const auto& mem = spec.domain.memory;
  if (*mem.guest < 16 * kMi) {
    errors.push_back(spec.source.error_at(
        "domain.memory.guest",
        fmt::format("is {}; a guest needs at least 16Mi", guest_figure(mem))));
  } else if (*mem.guest % kMi != 0) {
    // apply_defaults aligns; only a spec that skipped it gets here.
    errors.push_back(
        spec.source.error_at("domain.memory.guest",
                             fmt::format("is {} bytes; it must be a multiple of 1Mi", *mem.guest)));
  }
}

void validate_hugepages(const VmSpec& spec, SpecErrors& errors) {
  const auto& mem = spec.domain.memory;
  if (!mem.hugepages_page_size) {
    return;
  }
  const auto page = *mem.hugepages_page_size;
  if (page != 2 * kMi && page != kGi) {
    errors.push_back(spec.source.error_at(
        "domain.memory.hugepages.pageSize",
        fmt::format("is {}; hugepages must be 2Mi or 1Gi", format_bytes(page))));
  } else if (*mem.guest % page != 0) {
    errors.push_back(spec.source.error_at(
        "domain.memory.hugepages.pageSize",
        fmt::format("{} pages do not divide the guest memory {}; make domain.memory.guest a "
                    "multiple of {}",
                    format_bytes(page), guest_figure(mem), format_bytes(page))));
  }
}

void validate_guest_memory(const VmSpec& spec, SpecErrors& errors) {
  const auto& mem = spec.domain.memory;
  if (!mem.guest) {
    errors.push_back(spec.source.error_at(
        "domain.memory.guest",
        "is required: set domain.memory.guest or domain.resources.requests.memory, or use an "
        "instancetype"));
    return;
  }
  validate_guest_size(spec, errors);
  validate_hugepages(spec, errors);
  // virtio-mem works with hugepages too (memory-backend-file), so only sizes are checked.
  if (mem.max_guest) {
    if (*mem.max_guest <= *mem.guest) {
      errors.push_back(spec.source.error_at(
          "domain.memory.maxGuest",
          fmt::format("is {}; it must be larger than the guest memory {}",
                      format_bytes(*mem.max_guest), guest_figure(mem))));
    } else if (*mem.max_guest % (2 * kMi) != 0) {
      errors.push_back(spec.source.error_at(
          "domain.memory.maxGuest",
          fmt::format("is {}; it must be a multiple of 2Mi (the virtio-mem block size)",
                      format_bytes(*mem.max_guest))));
    }
  }
}

void validate_resources(const VmSpec& spec, SpecErrors& errors) {
  const auto& res = spec.domain.resources;
  if (res.limits.cpu && res.requests.cpu && *res.limits.cpu < *res.requests.cpu) {
    errors.push_back(spec.source.error_at(
        "domain.resources.limits.cpu",
        fmt::format("{} is below requests.cpu {}", *res.limits.cpu, *res.requests.cpu)));
  }
  if (res.limits.memory && res.requests.memory && *res.limits.memory < *res.requests.memory) {
    errors.push_back(spec.source.error_at(
        "domain.resources.limits.memory",
        fmt::format("{} is below requests.memory {}", format_bytes(*res.limits.memory),
                    format_bytes(*res.requests.memory))));
  }
}

// KubeVirt's rules for pinned vCPUs: whole CPUs, requests equal to limits.
void validate_dedicated_cpus(const VmSpec& spec, SpecErrors& errors) {
  const auto& cpu = spec.domain.cpu;
  const auto& res = spec.domain.resources;
  const bool dedicated = cpu.dedicated_cpu_placement.value_or(false);
  if (cpu.isolate_emulator_thread.value_or(false) && !dedicated) {
    errors.push_back(spec.source.error_at("domain.cpu.isolateEmulatorThread",
                                          "needs domain.cpu.dedicatedCpuPlacement: true"));
  }
  if (!dedicated) {
    return;
  }
  for (auto [name, value] :
       {std::pair{"requests", res.requests.cpu}, std::pair{"limits", res.limits.cpu}}) {
    if (value && *value != std::floor(*value)) {
      errors.push_back(spec.source.error_at(
          fmt::format("domain.resources.{}.cpu", name),
          fmt::format("is {}; dedicatedCpuPlacement needs a whole number of CPUs", *value)));
      return;
    }
  }
  if (res.requests.cpu && res.limits.cpu && *res.requests.cpu != *res.limits.cpu) {
    errors.push_back(spec.source.error_at(
        "domain.resources.limits.cpu",
        fmt::format("is {} but requests.cpu is {}; dedicatedCpuPlacement needs them equal",
                    *res.limits.cpu, *res.requests.cpu)));
  }
}

}  // namespace

void validate_cpu_memory(const VmSpec& spec, SpecErrors& errors) {
  validate_topology(spec, errors);
  validate_guest_memory(spec, errors);
  validate_resources(spec, errors);
  validate_dedicated_cpus(spec, errors);
}

}  // namespace qmd::policy::rules
