#include "daemon/runtime/ignition_file.hpp"

#include <fcntl.h>
#include <fmt/format.h>

#include <cerrno>
#include <cstring>

#include "cmdline/provisioning.hpp"

namespace qmd::daemon {

std::optional<std::string> write_ignition_file(const std::string& data,
                                               const cmdline::VmPaths& paths, PathOwner owner) {
  const std::string path = cmdline::ignition_config_path(paths);
  UniqueFd dir = open_dir_nofollow(AT_FDCWD, paths.run_dir.c_str());
  if (!dir) {
    return fmt::format("the Ignition config {}: open the run directory: {}", path,
                       std::strerror(errno));
  }
  auto written = write_file_at(dir.get(), "ignition.json", data, 0600, owner, path);
  if (!written) {
    return fmt::format("the Ignition config {}: {}", path, written.error());
  }
  return std::nullopt;
}

}  // namespace qmd::daemon
