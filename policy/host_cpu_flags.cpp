#include "policy/host_cpu_flags.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <sstream>
#include <utility>

namespace qmd::policy {
namespace {

// The kernel's (and libvirt's) names that QEMU spells differently; '_' -> '-' comes first.
constexpr std::array<std::pair<std::string_view, std::string_view>, 8> kAliases{{
    {"pni", "sse3"},
    {"pclmuldq", "pclmulqdq"},
    {"sse4-1", "sse4.1"},
    {"sse4-2", "sse4.2"},
    {"xd", "nx"},
    {"i64", "lm"},
    {"ffxsr", "fxsr-opt"},
    {"tsc-deadline-timer", "tsc-deadline"},
}};

// KVM gives these to a guest whatever the host CPU shows: they are not host flags.
bool provided_by_kvm(std::string_view flag) {
  return flag == "hypervisor" || flag == "x2apic" || flag == "tsc-deadline" ||
         flag.starts_with("kvm") || flag == "arat";
}

// /proc/cpuinfo splits the invariant TSC in two; QEMU and libvirt call it invtsc.
bool has(const std::vector<std::string>& flags, std::string_view canonical) {
  if (canonical == "invtsc") {
    return has(flags, "constant-tsc") && has(flags, "nonstop-tsc");
  }
  return std::ranges::any_of(
      flags, [&](const std::string& f) { return canonical_cpu_flag(f) == canonical; });
}

std::string feature_path(std::size_t i) { return fmt::format("domain.cpu.features[{}]", i); }

}  // namespace

std::vector<std::string> parse_cpuinfo_flags(std::string_view cpuinfo) {
  std::istringstream in{std::string(cpuinfo)};
  for (std::string line; std::getline(in, line);) {
    const auto colon = line.find(':');
    if (colon == std::string::npos || !line.starts_with("flags")) {
      continue;
    }
    std::istringstream words(line.substr(colon + 1));
    std::vector<std::string> flags;
    for (std::string w; words >> w;) {
      flags.push_back(w);
    }
    return flags;
  }
  return {};
}

std::string canonical_cpu_flag(std::string_view name) {
  std::string out;
  for (const char c : name) {
    out += c == '_' ? '-' : static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  }
  for (const auto& [from, to] : kAliases) {
    if (out == from) {
      return std::string(to);
    }
  }
  return out;
}

bool host_has_cpu_flag(const std::vector<std::string>& host_flags, std::string_view name) {
  const std::string flag = canonical_cpu_flag(name);
  return provided_by_kvm(flag) || has(host_flags, flag);
}

CpuFlagCheck check_cpu_flags(const VmSpec& spec, const HostCaps& host, bool evmcs_dropped) {
  CpuFlagCheck check;
  if (host.cpu_flags.empty()) {
    return check;  // not probed: nothing to compare with
  }
  const auto& features = spec.domain.cpu.features;
  for (std::size_t i = 0; i < features.size(); ++i) {
    const auto& f = features[i];
    // What evmcs required is optional again once the host check has dropped evmcs.
    const std::string policy =
        f.for_evmcs && evmcs_dropped ? "optional" : f.policy.value_or("require");
    const bool present = host_has_cpu_flag(host.cpu_flags, f.name);
    if (policy == "require" && !present && f.for_evmcs) {
      check.errors.push_back(spec.source.error_at(
          "domain.features.hyperv.evmcs",
          fmt::format("host \"{}\" has no CPU flag \"{}\", which evmcs needs (as {} with "
                      "policy require): run on an Intel host with VMX, or remove evmcs",
                      host.hostname, f.name, spec.source.spec_path(feature_path(i)))));
    } else if (policy == "require" && !present) {
      check.errors.push_back(spec.source.error_at(
          feature_path(i) + ".name",
          fmt::format("host \"{}\" has no CPU flag \"{}\", which policy require needs: run on "
                      "a host that has it, or use policy optional (on where the host has it) "
                      "or force",
                      host.hostname, f.name)));
    } else if (policy == "forbid" && present) {
      check.errors.push_back(spec.source.error_at(
          feature_path(i) + ".name",
          fmt::format("host \"{}\" has the CPU flag \"{}\", which policy forbid refuses: use "
                      "policy disable to hide it from the guest on this host",
                      host.hostname, f.name)));
    } else if (policy == "optional" && !present) {
      check.dropped.push_back(f.name);
      check.warnings.push_back(fmt::format(
          "{}: host \"{}\" has no CPU flag \"{}\"; {} leaves it out",
          spec.source.spec_path(feature_path(i) + ".name"), host.hostname, f.name,
          f.for_evmcs ? "evmcs was dropped, and without it the flag is optional; this"
                      : "policy optional"));
    }
  }
  return check;
}

std::vector<std::string> flags_for_evmcs(const VmSpec& spec) {
  std::vector<std::string> out;
  for (const auto& f : spec.domain.cpu.features) {
    if (f.for_evmcs) {
      out.push_back(f.name);
    }
  }
  return out;
}

}  // namespace qmd::policy
