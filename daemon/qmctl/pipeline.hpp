#pragma once
// What qmctl's daemon-less commands share: flags, and spec file -> presets -> render.
#include <expected>
#include <optional>
#include <string>
#include <vector>

#include "cmdline/render.hpp"
#include "daemon/config.hpp"
#include "policy/host_caps.hpp"
#include "policy/spec.hpp"
#include "policy/spec_error.hpp"
#include "policy/validate.hpp"

namespace qmd::qmctl {

// Flags left empty fall back to the config file, then to its defaults.
struct CommonFlags {
  std::string file;           // the spec
  std::string config;         // --config; default /etc/qmd/qmd.yaml when it exists
  bool emulation = false;     // --emulation: TCG (KubeVirt's useEmulation)
  std::optional<policy::RunPolicy::Hyperv> hyperv;  // --hyperv strict|best-effort
  std::string host_text;      // --fake-host "kvm=yes ...": render for a described host
  std::string run_dir;        // --run-dir: this VM's run dir; default <runDir>/vms/NAME
  std::string state_dir;      // --state-dir: this VM's state dir; default <stateDir>/vms/NAME
  std::string preset_dir;     // --preset-dir; default presetDir when it exists
  std::string output = "args";  // -o args|json|shell
  std::vector<std::string> rest;  // arguments no common flag took
};

// Parses the flags above; unknown flags are left in `rest`. Returns an error message on a
// flag without its value.
std::expected<CommonFlags, std::string> parse_common_flags(int argc, char** argv);

// True when -h or --help is among the arguments: print the usage on stdout and exit 0.
bool asks_help(int argc, char** argv);

// The config file (--config, else /etc/qmd/qmd.yaml if present) with the flags applied on top.
std::expected<daemon::Config, policy::SpecErrors> config_for(const CommonFlags& flags);

struct Loaded {
  daemon::Config config;        // flags applied
  policy::VmSpec spec;          // presets applied
  policy::HostCaps host;
  policy::RunPolicy policy;
  cmdline::VmPaths paths;
};

// Config + parse + presets; the host is probed unless --fake-host is given. Errors are
// printable.
std::expected<Loaded, policy::SpecErrors> load(const CommonFlags& flags);

// The host the flags describe: fake, or probed with the config's QEMU binary. The error is
// what is wrong with --fake-host.
std::expected<policy::HostCaps, std::string> host_for(const CommonFlags& flags,
                                                      const daemon::Config& config);

}  // namespace qmd::qmctl
