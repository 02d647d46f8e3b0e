#pragma once
// Shared helpers for the integration tests: short temp dirs (unix socket paths are limited
// to 107 characters) and checks that nothing a test started is still around.
#include <dirent.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace qmd::itest {

// A fresh directory under /tmp, removed with everything in it.
class TempDir {
 public:
  explicit TempDir(const std::string& tag = "t") {
    std::string pattern = "/tmp/qmd-" + tag + "-XXXXXX";
    if (::mkdtemp(pattern.data()) != nullptr) {
      path_ = pattern;
    }
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string sub(const std::string& name) const {
    std::filesystem::create_directories(path_ + "/" + name);
    return path_ + "/" + name;
  }

 private:
  std::string path_;
};

inline std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Every process whose parent is this test process (a leaked QEMU or swtpm).
inline std::vector<std::string> children_of_self() {
  std::vector<std::string> found;
  const std::string self = std::to_string(::getpid());
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string pid = entry.path().filename().string();
    if (pid.find_first_not_of("0123456789") != std::string::npos) {
      continue;
    }
    const std::string stat = read_text("/proc/" + pid + "/stat");
    // "pid (comm) state ppid ..." — comm may hold spaces, so start after the last ')'.
    const auto close = stat.rfind(')');
    if (close == std::string::npos) {
      continue;
    }
    std::istringstream rest(stat.substr(close + 1));
    std::string state, ppid;
    rest >> state >> ppid;
    if (ppid == self) {
      found.push_back(pid + " " + stat.substr(0, close + 1));
    }
  }
  return found;
}

// Every process whose command line mentions `text` (a daemonized sidecar escapes the
// parent check but still names its temp dir).
inline std::vector<std::string> processes_mentioning(const std::string& text) {
  std::vector<std::string> found;
  const std::string self = std::to_string(::getpid());
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string pid = entry.path().filename().string();
    if (pid.find_first_not_of("0123456789") != std::string::npos || pid == self) {
      continue;
    }
    std::string cmdline = read_text("/proc/" + pid + "/cmdline");
    for (auto& c : cmdline) {
      if (c == '\0') {
        c = ' ';
      }
    }
    if (cmdline.find(text) != std::string::npos) {
      found.push_back(pid + ": " + cmdline);
    }
  }
  return found;
}

// Sockets anywhere under `dir`.
inline std::vector<std::string> sockets_under(const std::string& dir) {
  std::vector<std::string> found;
  std::error_code ec;
  for (std::filesystem::recursive_directory_iterator it(dir, ec), end; !ec && it != end;
       it.increment(ec)) {
    if (it->is_socket(ec)) {
      found.push_back(it->path().string());
    }
  }
  return found;
}

}  // namespace qmd::itest
