#include "daemon/qmctl/pipeline.hpp"

#include <filesystem>
#include <string_view>

#include "policy/all_errors.hpp"
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
      if (ok) {
        f.hyperv = hv == "strict" ? policy::RunPolicy::Hyperv::strict
                                  : policy::RunPolicy::Hyperv::best_effort;
      }
    } else if (a == "--config") {
      ok = value(f.config);
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

std::expected<daemon::Config, policy::SpecErrors> config_for(const CommonFlags& flags) {
  auto config = daemon::load_config(
      flags.config.empty() ? std::string(daemon::kDefaultConfigPath) : flags.config,
      flags.config.empty() ? daemon::IfMissing::use_defaults : daemon::IfMissing::fail);
  if (!config) {
    return config;
  }
  config->use_emulation = config->use_emulation || flags.emulation;
  config->hyperv = flags.hyperv.value_or(config->hyperv);
  if (!flags.preset_dir.empty()) {
    config->preset_dir = flags.preset_dir;
  }
  return config;
}

std::expected<policy::HostCaps, std::string> host_for(const CommonFlags& flags,
                                                      const daemon::Config& config) {
  if (!flags.host_text.empty()) {
    return policy::parse_host_caps(flags.host_text);
  }
  return policy::probe_host(config.qemu_binary);
}

bool asks_help(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      return true;
    }
  }
  return false;
}

namespace {

// What the config says about how to run VMs; load() adds the VM's state directory.
policy::RunPolicy run_policy(const daemon::Config& config) {
  policy::RunPolicy policy;
  policy.use_emulation = config.use_emulation;
  policy.hyperv = config.hyperv;
  policy.bridges = config.bridges;
  policy.masquerade_nat =
      daemon::masquerade_mode(config) == daemon::NetworkConfig::Masquerade::nat;
  return policy;
}

}  // namespace

std::expected<Loaded, policy::SpecErrors> load(const CommonFlags& flags) {
  auto config = config_for(flags);
  if (!config) {
    return std::unexpected(config.error());
  }
  auto text = policy::read_spec_file(flags.file);
  if (!text) {
    return std::unexpected(text.error());
  }
  auto parsed = policy::parse_spec_partial(*text, flags.file);
  // The default preset dir is optional (built-in presets only); one someone chose is not.
  std::string preset_dir = config->preset_dir;
  if (preset_dir == daemon::Config{}.preset_dir && !std::filesystem::is_directory(preset_dir)) {
    preset_dir.clear();
  }
  auto catalog = policy::PresetCatalog::load(preset_dir);
  if (!catalog) {
    parsed.errors.insert(parsed.errors.end(), catalog.error().begin(), catalog.error().end());
    return std::unexpected(std::move(parsed.errors));
  }
  if (!parsed.errors.empty()) {
    // Everything else that is wrong too, not only what the parser saw.
    auto policy = run_policy(*config);
    policy.state_dir = flags.state_dir.empty()
                           ? config->state_dir + "/vms/" + parsed.spec.name
                           : flags.state_dir;
    return std::unexpected(policy::all_errors(parsed, *catalog, policy));
  }
  auto spec = policy::apply_presets(parsed.spec, *catalog);
  if (!spec) {
    return std::unexpected(spec.error());
  }
  auto host = host_for(flags, *config);
  if (!host) {
    return std::unexpected(policy::SpecErrors{{"--fake-host", host.error(), "", {}}});
  }
  Loaded l{std::move(*config), std::move(*spec), std::move(*host), {}, {}};
  l.policy = run_policy(l.config);
  l.paths.run_dir =
      flags.run_dir.empty() ? l.config.run_dir + "/vms/" + l.spec.name : flags.run_dir;
  l.paths.state_dir =
      flags.state_dir.empty() ? l.config.state_dir + "/vms/" + l.spec.name : flags.state_dir;
  l.policy.state_dir = l.paths.state_dir;
  return l;
}

}  // namespace qmd::qmctl
