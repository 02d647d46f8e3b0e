// cpu.features: KubeVirt's list of CPUID flags with a libvirt policy each. What depends on the
// host (require, forbid, optional) is checked against it in host_cpu_flags.cpp.
#include <fmt/format.h>

#include <regex>
#include <set>

#include "policy/host_cpu_flags.hpp"
#include "policy/validate_rules.hpp"

namespace qmd::policy::rules {

void validate_cpu_features(const VmSpec& spec, SpecErrors& errors) {
  // QEMU's flag names: lowercase letters, digits, '-', '_' and '.' (sse4.1); they go into
  // -cpu, so a comma or '=' must never get through.
  static const std::regex kName("[a-z0-9][a-z0-9._-]{0,63}");
  std::map<std::string, std::size_t> seen;
  const auto& features = spec.domain.cpu.features;
  for (std::size_t i = 0; i < features.size(); ++i) {
    const auto base = fmt::format("domain.cpu.features[{}]", i);
    const auto& f = features[i];
    check_one_of(spec, base + ".policy", f.policy,
                 {"force", "require", "optional", "disable", "forbid"}, errors);
    if (!std::regex_match(f.name, kName)) {
      errors.push_back(spec.source.error_at(
          base + ".name",
          fmt::format("\"{}\" is not a CPU flag name: use the flag's lowercase name as QEMU "
                      "and libvirt spell it, such as vmx, pcid or sse4.1",
                      f.name)));
      continue;
    }
    const auto [at, inserted] = seen.emplace(canonical_cpu_flag(f.name), i);
    if (!inserted) {
      errors.push_back(spec.source.error_at(
          base + ".name",
          fmt::format("\"{}\" is already listed as features[{}]: keep one entry per flag",
                      f.name, at->second)));
    }
  }
}

}  // namespace qmd::policy::rules
