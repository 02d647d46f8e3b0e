// What a preference asks of the VM: its vCPU topology (preferredCPUTopology, spreadOptions)
// and its minimum requirements, checked against the instancetype or the VM itself.
#include <fmt/format.h>

#include "policy/preset_model.hpp"

namespace qmd::policy::presets {
namespace {

constexpr std::uint64_t kMi = 1024 * 1024;

// "512Mi", "1.5Gi", "3Gi"; bytes when not a whole number of MiB.
std::string quantity(std::uint64_t bytes) {
  if (bytes % kMi != 0) {
    return fmt::format("{} bytes", bytes);
  }
  const std::uint64_t mib = bytes / kMi;
  if (mib % 1024 == 0) {
    return fmt::format("{}Gi", mib / 1024);
  }
  if (mib >= 1024 && (mib * 10) % 1024 == 0) {
    return fmt::format("{}Gi", static_cast<double>(mib) / 1024);
  }
  return fmt::format("{}Mi", mib);
}

// Where a preference's field stands: a file position, or the built-in table.
std::string where(const Preference& pref, std::string_view field, Mark mark) {
  if (pref.file == kBuiltinOrigin) {
    return fmt::format("{} of the built-in preference", field);
  }
  return fmt::format("{} at {}:{}:{}", field, pref.file, mark.line, mark.column);
}

std::uint32_t vm_vcpus(const CpuSpec& cpu) {
  return cpu.sockets.value_or(1) * cpu.cores.value_or(1) * cpu.threads.value_or(1);
}

bool has_topology(const CpuSpec& cpu) { return cpu.sockets || cpu.cores || cpu.threads; }

// The VM's own vCPU field that an error should point at.
std::string vm_cpu_field(const CpuSpec& cpu) {
  if (cpu.cores) {
    return "domain.cpu.cores";
  }
  if (cpu.sockets) {
    return "domain.cpu.sockets";
  }
  return "domain.cpu.threads";
}

void check_cpu(const VmSpec& spec, const Instancetype* it, const Preference& pref,
               SpecErrors& errors) {
  const auto need = *pref.requirements.cpu_guest;
  const auto required = fmt::format(
      "preference \"{}\" requires at least {} vCPU{} ({})", pref.name, need, need == 1 ? "" : "s",
      where(pref, "requirements.cpu.guest", pref.requirements.cpu_mark));
  if (it != nullptr && it->cpu_guest < need) {
    errors.push_back(spec.source.error_at_full(
        "spec.instancetype.name",
        fmt::format("instancetype \"{}\" provides {} vCPU{}, but {}; choose a larger "
                    "instancetype or another preference",
                    it->name, it->cpu_guest, it->cpu_guest == 1 ? "" : "s", required)));
  } else if (it == nullptr && vm_vcpus(spec.domain.cpu) < need) {
    const auto have = vm_vcpus(spec.domain.cpu);
    const bool set = has_topology(spec.domain.cpu);
    auto message = fmt::format(
        "the VM has {} vCPU{} ({}), but {}; give it more vCPUs or choose another preference", have,
        have == 1 ? "" : "s",
        set ? "sockets × cores × threads" : "the default when domain.cpu sets none", required);
    errors.push_back(set ? spec.source.error_at(vm_cpu_field(spec.domain.cpu), std::move(message))
                         : spec.source.error_at_full("spec.preference.name", std::move(message)));
  }
}

void check_memory(const VmSpec& spec, const Instancetype* it, const Preference& pref,
                  SpecErrors& errors) {
  const auto need = *pref.requirements.memory_guest;
  const auto required =
      fmt::format("preference \"{}\" requires at least {} ({})", pref.name, quantity(need),
                  where(pref, "requirements.memory.guest", pref.requirements.memory_mark));
  const auto& mem = spec.domain.memory;
  if (it != nullptr && it->memory_guest < need) {
    errors.push_back(spec.source.error_at_full(
        "spec.instancetype.name",
        fmt::format("instancetype \"{}\" provides {} of memory, but {}; choose a larger "
                    "instancetype or another preference",
                    it->name, quantity(it->memory_guest), required)));
  } else if (it == nullptr && mem.guest && *mem.guest < need) {
    errors.push_back(spec.source.error_at(
        "domain.memory.guest", fmt::format("the VM has {} of memory, but {}; give it more memory "
                                           "or choose another preference",
                                           quantity(*mem.guest), required)));
  } else if (it == nullptr && !mem.guest && spec.domain.resources.requests.memory &&
             *spec.domain.resources.requests.memory < need) {
    errors.push_back(spec.source.error_at(
        "domain.resources.requests.memory",
        fmt::format("the VM requests {} of memory, but {}; give it more memory or choose "
                    "another preference",
                    quantity(*spec.domain.resources.requests.memory), required)));
  }
}

}  // namespace

std::expected<CpuSpec, std::string> spread_vcpus(std::uint32_t vcpus, const Preference* pref) {
  CpuSpec cpu;
  cpu.sockets = cpu.cores = cpu.threads = 1;
  const std::string how = pref ? pref->cpu_topology.value_or("sockets") : "sockets";
  if (how == "preferCores" || how == "cores") {
    cpu.cores = vcpus;
    return cpu;
  }
  if (how == "preferThreads" || how == "threads") {
    cpu.threads = vcpus;
    return cpu;
  }
  if (how != "preferSpread" && how != "spread") {
    cpu.sockets = vcpus;  // sockets, and any: the VM says nothing else once an instancetype sets it
    return cpu;
  }
  // KubeVirt's spread: `ratio` cores per socket (default 2), with 2 threads per core when
  // across SocketsCoresThreads; CoresThreads is always 2 threads per core.
  const std::uint32_t ratio =
      pref->spread.ratio.value_or(pref->spread_socket_to_core_ratio.value_or(2));
  const std::string across = pref->spread.across.value_or("SocketsCores");
  const std::uint32_t threads = across == "SocketsCores" ? 1 : 2;
  const std::uint32_t per_socket = across == "CoresThreads" ? vcpus : ratio * threads;
  if (per_socket == 0 || vcpus % per_socket != 0 || per_socket % threads != 0) {
    return std::unexpected(fmt::format(
        "preference \"{}\" spreads vCPUs across {} with {} vCPUs per socket, which does not "
        "divide the instancetype's {} vCPUs; choose an instancetype whose vCPUs it divides",
        pref->name, across, per_socket, vcpus));
  }
  cpu.sockets = vcpus / per_socket;
  cpu.cores = per_socket / threads;
  cpu.threads = threads;
  return cpu;
}

void check_requirements(const VmSpec& spec, const Instancetype* it, const Preference& pref,
                        SpecErrors& errors) {
  const auto& req = pref.requirements;
  if (req.cpu_guest) {
    check_cpu(spec, it, pref, errors);
  }
  if (req.memory_guest) {
    check_memory(spec, it, pref, errors);
  }
  if (req.architecture && *req.architecture != "amd64") {
    errors.push_back(spec.source.error_at_full(
        "spec.preference.name",
        fmt::format("preference \"{}\" requires architecture {} ({}), but this host runs amd64 "
                    "guests only; choose an amd64 preference",
                    pref.name, *req.architecture,
                    where(pref, "requirements.architecture", req.architecture_mark))));
  }
}

}  // namespace qmd::policy::presets
