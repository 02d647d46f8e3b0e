#pragma once
// Small reads the runtime makes of sockets and /proc while it waits for or adopts a process.
#include <sys/stat.h>
#include <sys/types.h>

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

// Whether process `pid` runs with `uid` as its real and effective uid: a pid file in a run
// dir the VM's uid may write names only a process of that uid, never another VM's.
inline bool runs_with_uid(pid_t pid, uid_t uid) {
  std::istringstream status(read_proc_file("/proc/" + std::to_string(pid) + "/status"));
  for (std::string line; std::getline(status, line);) {
    if (line.starts_with("Uid:")) {
      std::istringstream ids(line.substr(4));
      uid_t real = 0;
      uid_t effective = 0;
      return static_cast<bool>(ids >> real >> effective) && real == uid && effective == uid;
    }
  }
  return false;
}

}  // namespace qmd::daemon
