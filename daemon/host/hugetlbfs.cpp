#include "daemon/host/hugetlbfs.hpp"

#include <fmt/format.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace qmd::daemon {

bool is_hugetlbfs_1g(const std::string& mountinfo, const std::string& path) {
  std::istringstream lines(mountinfo);
  std::string line;
  while (std::getline(lines, line)) {
    // "36 25 0:32 / /dev/hugepages1G rw,relatime shared:17 - hugetlbfs hugetlbfs rw,pagesize=1024M"
    std::istringstream fields(line);
    std::string id, parent, dev, root, mount_point;
    fields >> id >> parent >> dev >> root >> mount_point;
    if (mount_point != path) {
      continue;
    }
    const auto dash = line.find(" - ");
    if (dash == std::string::npos) {
      continue;
    }
    std::istringstream tail(line.substr(dash + 3));
    std::string type, source, options;
    tail >> type >> source >> options;
    if (type == "hugetlbfs" && (options.find("pagesize=1024M") != std::string::npos ||
                                options.find("pagesize=1G") != std::string::npos)) {
      return true;
    }
  }
  return false;
}

std::expected<void, std::string> ensure_hugetlbfs_1g(const std::string& path) {
  std::ifstream in("/proc/self/mountinfo");
  std::ostringstream text;
  text << in.rdbuf();
  if (is_hugetlbfs_1g(text.str(), path)) {
    return {};
  }
  if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
    return std::unexpected(fmt::format("make {} for 1Gi hugepages: {}", path, std::strerror(errno)));
  }
  if (::mount("hugetlbfs", path.c_str(), "hugetlbfs", MS_NOSUID | MS_NODEV, "pagesize=1G") != 0) {
    return std::unexpected(fmt::format(
        "mount hugetlbfs pagesize=1G on {}: {} (under systemd enable dev-hugepages1G.mount, "
        "which qmd installs; the kernel also needs 1 GiB pages reserved: hugepagesz=1G "
        "hugepages=N on its command line)",
        path, std::strerror(errno)));
  }
  return {};
}

}  // namespace qmd::daemon
