#include "daemon/host/uid_range_lock.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace qmd::daemon {

std::expected<UidRangeLock, std::string> lock_uid_range(const UidRange& range,
                                                        const std::string& file) {
  UniqueFd fd(::open(file.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
  struct stat st {};
  if (!fd || ::fstat(fd.get(), &st) != 0) {
    return std::unexpected(
        fmt::format("open {}: {} (a link?); remove it", file, std::strerror(errno)));
  }
  if (!S_ISREG(st.st_mode) || st.st_uid != ::geteuid() || (st.st_mode & 022) != 0) {
    return std::unexpected(fmt::format(
        "{} is not a regular file of uid {} that only it may write (uid {}, mode {:o}); "
        "remove it",
        file, ::geteuid(), st.st_uid, st.st_mode & 07777));
  }
  // An open file description lock: it stays with this one descriptor, so no other open and
  // close of the file in qmd (a link to it, say) drops it, as it would a POSIX record lock.
  struct flock want {};
  want.l_type = F_WRLCK;
  want.l_whence = SEEK_SET;
  want.l_start = static_cast<off_t>(range.first);
  want.l_len = static_cast<off_t>(range.count);
  if (::fcntl(fd.get(), F_OFD_SETLK, &want) == 0) {
    return UidRangeLock(std::move(fd));
  }
  if (errno != EACCES && errno != EAGAIN) {
    return std::unexpected(fmt::format("lock {}: {}", file, std::strerror(errno)));
  }
  struct flock held = want;
  if (::fcntl(fd.get(), F_OFD_GETLK, &held) != 0 || held.l_type == F_UNLCK) {
    return std::unexpected(fmt::format(
        "qemuUids {}–{}: another qmd of this host held an overlapping range a moment ago; "
        "start again",
        range.first, range.end() - 1));
  }
  // The kernel names no holder of such a lock (l_pid is -1); fuser does.
  return std::unexpected(fmt::format(
      "qemuUids {}–{} overlap {}–{}, held by another qmd running on this host (`fuser -v "
      "{}` names it): two qmds of one host must hand out different uids, or one's VM could "
      "read the other's files; give this qmd a range of its own (--qemu-uids FIRST:COUNT or "
      "qemuUids in qmd.yaml)",
      range.first, range.end() - 1, held.l_start, held.l_start + held.l_len - 1, file));
}

}  // namespace qmd::daemon
