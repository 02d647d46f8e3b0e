#pragma once
// Small reads the runtime makes of sockets and /proc while it waits for or adopts a process.
#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <string>

namespace qmd::daemon {

// Whether `path` is a socket now (a sidecar or QEMU listening).
inline bool is_socket(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

// A /proc file (a process's cmdline): procfs only, never a file another user can plant.
inline std::string read_proc_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace qmd::daemon
