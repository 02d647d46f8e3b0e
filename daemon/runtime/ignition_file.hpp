#pragma once
// The Ignition config a VM's QEMU reads through fw_cfg (cmdline/provisioning.hpp), written at
// each start from the kubevirt.io/ignitiondata annotation into the run directory, through
// its descriptor and never through a link, and handed to the QEMU user. Blocking.
#include <optional>
#include <string>

#include "cmdline/paths.hpp"
#include "daemon/store/dir_fd.hpp"

namespace qmd::daemon {

// Writes `data` as the VM's ignition.json (0600); returns what failed, naming the file.
std::optional<std::string> write_ignition_file(const std::string& data,
                                               const cmdline::VmPaths& paths, PathOwner owner);

}  // namespace qmd::daemon
