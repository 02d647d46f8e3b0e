#pragma once
// What qmctl's daemon-less commands share: flags, and spec file -> presets -> render.
#include <expected>
#include <optional>
#include <string>
#include <vector>

#include "cmdline/render.hpp"
#include "policy/host_caps.hpp"
#include "policy/spec.hpp"
#include "policy/spec_error.hpp"
#include "policy/validate.hpp"

namespace qmd::qmctl {

struct CommonFlags {
  std::string file;           // the spec
  bool emulation = false;     // --emulation: TCG (KubeVirt's useEmulation)
  bool best_effort = false;   // --hyperv best-effort
  std::string host_text;      // --fake-host "kvm=yes ...": render for a described host
  std::string run_dir;        // --run-dir; default /run/qmd/vms/NAME
  std::string state_dir;      // --state-dir; default /var/lib/qmd/vms/NAME
  std::string preset_dir;     // --preset-dir; default /etc/qmd/presets when it exists
  std::string output = "args";  // -o args|json|shell
  std::vector<std::string> rest;  // arguments no common flag took
};

// Parses the flags above; unknown flags are left in `rest`. Returns an error message on a
// flag without its value.
std::expected<CommonFlags, std::string> parse_common_flags(int argc, char** argv);

struct Loaded {
  policy::VmSpec spec;          // presets applied
  policy::HostCaps host;
  policy::RunPolicy policy;
  cmdline::VmPaths paths;
};

// Parse + presets; the host is probed unless --fake-host is given. Errors are printable.
std::expected<Loaded, policy::SpecErrors> load(const CommonFlags& flags);

// The host the flags describe (fake or probed); exits the process with a message on a bad
// --fake-host.
std::expected<policy::HostCaps, std::string> host_for(const CommonFlags& flags);

}  // namespace qmd::qmctl
