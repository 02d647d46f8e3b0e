#include "daemon/qmctl/pipeline.hpp"

#include <filesystem>
#include <string_view>

#include "policy/parse.hpp"
#include "policy/presets.hpp"

namespace qmd::qmctl {

std::expected<CommonFlags, std::string> parse_common_flags(int argc, char** argv) {
  CommonFlags f;
  for (int i = 0; i < argc; ++i) {
    const std::string_view a = argv[i];
    auto value = [&](std::string& dst) -> bool {
      if (i + 1 >= argc) {
        return false;
      }
      dst = argv[++i];
      return true;
    };
    std::string hv;
    bool ok = true;
    if (a == "--emulation") {
      f.emulation = true;
    } else if (a == "--hyperv") {
      ok = value(hv);
      if (ok && hv != "strict" && hv != "best-effort" && hv != "bestEffort") {
        return std::unexpected("--hyperv takes strict or best-effort, not \"" + hv + "\"");
      }
      f.best_effort = ok && hv != "strict";
    } else if (a == "--fake-host") {
      ok = value(f.host_text);
    } else if (a == "--run-dir") {
      ok = value(f.run_dir);
    } else if (a == "--state-dir") {
      ok = value(f.state_dir);
    } else if (a == "--preset-dir") {
      ok = value(f.preset_dir);
    } else if (a == "-o" || a == "--output") {
      ok = value(f.output);
    } else if (!a.starts_with("-") && f.file.empty()) {
      f.file = std::string(a);
    } else {
      f.rest.emplace_back(a);
    }
    if (!ok) {
      return std::unexpected(std::string(a) + " needs a value");
    }
  }
  return f;
}

std::expected<policy::HostCaps, std::string> host_for(const CommonFlags& flags) {
  if (!flags.host_text.empty()) {
    return policy::parse_host_caps(flags.host_text);
  }
  return policy::probe_host();
}

std::expected<Loaded, policy::SpecErrors> load(const CommonFlags& flags) {
  auto parsed = policy::parse_spec_file(flags.file);
  if (!parsed) {
    return std::unexpected(parsed.error());
  }
  std::string preset_dir = flags.preset_dir;
  if (preset_dir.empty() && std::filesystem::is_directory("/etc/qmd/presets")) {
    preset_dir = "/etc/qmd/presets";
  }
  auto catalog = policy::PresetCatalog::load(preset_dir);
  if (!catalog) {
    return std::unexpected(catalog.error());
  }
  auto spec = policy::apply_presets(*parsed, *catalog);
  if (!spec) {
    return std::unexpected(spec.error());
  }
  auto host = host_for(flags);
  if (!host) {
    return std::unexpected(policy::SpecErrors{{"--fake-host", host.error(), "", {}}});
  }
  Loaded l{std::move(*spec), std::move(*host), {}, {}};
  l.policy.use_emulation = flags.emulation;
  l.policy.hyperv =
      flags.best_effort ? policy::RunPolicy::Hyperv::best_effort : policy::RunPolicy::Hyperv::strict;
  l.paths.run_dir = flags.run_dir.empty() ? "/run/qmd/vms/" + l.spec.name : flags.run_dir;
  l.paths.state_dir =
      flags.state_dir.empty() ? "/var/lib/qmd/vms/" + l.spec.name : flags.state_dir;
  l.policy.state_dir = l.paths.state_dir;
  return l;
}

}  // namespace qmd::qmctl
