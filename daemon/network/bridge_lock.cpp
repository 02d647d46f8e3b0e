#include "daemon/network/bridge_lock.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace qmd::daemon {

namespace {

// Only this process's user may have made or changed `what`: else another user could hold
// the lock first, or swap the file under it.
std::expected<void, std::string> owned_by_us(int fd, const std::string& what, bool directory) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    return std::unexpected(fmt::format("stat {}: {}", what, std::strerror(errno)));
  }
  const bool kind = directory ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode);
  if (!kind || st.st_uid != ::geteuid() || (st.st_mode & 022) != 0) {
    return std::unexpected(fmt::format(
        "{} is not a {} of uid {} that only it may write (uid {}, mode {:o}); remove it", what,
        directory ? "directory" : "regular file", ::geteuid(), st.st_uid, st.st_mode & 07777));
  }
  return {};
}

std::expected<UniqueFd, std::string> open_lock_file(const std::string& dir,
                                                    const std::string& name) {
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return std::unexpected(fmt::format("mkdir {}: {}", dir, std::strerror(errno)));
  }
  UniqueFd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dir_fd) {
    return std::unexpected(
        fmt::format("open {}: {} (a link?); remove it", dir, std::strerror(errno)));
  }
  if (auto checked = owned_by_us(dir_fd.get(), dir, true); !checked) {
    return std::unexpected(checked.error());
  }
  const std::string path = dir + "/" + name;
  UniqueFd fd(::openat(dir_fd.get(), name.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
                       0600));
  if (!fd) {
    return std::unexpected(
        fmt::format("open {}: {} (a link?); remove it", path, std::strerror(errno)));
  }
  if (auto checked = owned_by_us(fd.get(), path, false); !checked) {
    return std::unexpected(checked.error());
  }
  return fd;
}

}  // namespace

std::string bridge_lock_file(const std::string& dir, std::uint64_t netns,
                             const std::string& bridge) {
  return fmt::format("{}/net{}-{}.lock", dir, netns, bridge);
}

std::expected<BridgeLock, std::string> lock_bridge(const std::string& bridge,
                                                   const std::string& key,
                                                   const std::string& dir) {
  struct stat ns {};
  if (::stat("/proc/self/ns/net", &ns) != 0) {
    return std::unexpected(
        fmt::format("/proc/self/ns/net: {} (is /proc mounted?)", std::strerror(errno)));
  }
  const std::string path = bridge_lock_file(dir, ns.st_ino, bridge);
  auto fd = open_lock_file(dir, path.substr(dir.size() + 1));
  if (!fd) {
    return std::unexpected(fd.error());
  }
  // An open file description lock on the whole file: it stays with this one descriptor, so
  // no other open and close of the file in qmd drops it, as it would a POSIX record lock.
  struct flock want {};
  want.l_type = F_WRLCK;
  want.l_whence = SEEK_SET;
  if (::fcntl(fd->get(), F_OFD_SETLK, &want) == 0) {
    return BridgeLock(std::move(*fd));
  }
  if (errno != EACCES && errno != EAGAIN) {
    return std::unexpected(fmt::format("lock {}: {}", path, std::strerror(errno)));
  }
  // The kernel names no holder of such a lock (l_pid is -1); fuser does.
  return std::unexpected(fmt::format(
      "{} {}: another qmd running on this host runs this bridge (`fuser -v {}` names it); two "
      "qmds must not share a bridge, or each would rebuild and remove the other's network: "
      "give this qmd a bridge of its own ({} in qmd.yaml), or stop the other qmd",
      key, bridge, path, key));
}

}  // namespace qmd::daemon
