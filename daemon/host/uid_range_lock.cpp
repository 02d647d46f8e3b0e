#include "daemon/host/uid_range_lock.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <sstream>

namespace qmd::daemon {

namespace {

std::string errno_says(const std::string& what) {
  return fmt::format("{}: {}", what, std::strerror(errno));
}

// What a live qmd's file says: its range and state dir.
struct Holder {
  UidRange range;
  std::string state_dir;
};

std::optional<Holder> read_holder(int fd) {
  char buffer[4096];
  const ssize_t got = ::pread(fd, buffer, sizeof buffer - 1, 0);
  if (got <= 0) {
    return std::nullopt;
  }
  std::istringstream in(std::string(buffer, static_cast<std::size_t>(got)));
  Holder holder;
  if (!(in >> holder.range.first >> holder.range.count) || holder.range.count == 0) {
    return std::nullopt;
  }
  std::getline(in >> std::ws, holder.state_dir);
  return holder;
}

bool overlap(const UidRange& a, const UidRange& b) {
  return a.first < b.end() && b.first < a.end();
}

std::expected<UniqueFd, std::string> open_lock_dir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return std::unexpected(errno_says("create " + dir));
  }
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  struct stat st {};
  if (!fd || ::fstat(fd.get(), &st) != 0) {
    return std::unexpected(errno_says("open " + dir + " (not a directory or a link?)"));
  }
  if (st.st_uid != ::geteuid() || (st.st_mode & 022) != 0) {
    return std::unexpected(fmt::format(
        "{} belongs to uid {} with mode {:o}: only qmd's user may write it; remove it", dir,
        st.st_uid, st.st_mode & 07777));
  }
  return fd;
}

// Writes and locks `name` (made under a temporary name, so that no other qmd sees it
// unlocked and half-written).
std::expected<UniqueFd, std::string> publish_own(int dir, const std::string& name,
                                                 const UidRange& range,
                                                 const std::string& state_dir) {
  const std::string temporary = "." + name + ".tmp";
  UniqueFd fd(::openat(dir, temporary.c_str(),
                       O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd) {
    return std::unexpected(errno_says("create " + temporary));
  }
  const std::string text = fmt::format("{} {} {}\n", range.first, range.count, state_dir);
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0 ||
      ::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()) ||
      ::renameat(dir, temporary.c_str(), dir, name.c_str()) != 0) {
    const std::string why = errno_says("write " + name);
    (void)::unlinkat(dir, temporary.c_str(), 0);
    return std::unexpected(why);
  }
  return fd;
}

// The refusal for the first live qmd (a file someone holds locked) whose range overlaps.
std::optional<std::string> live_overlap(int dir, const std::string& own, const UidRange& range,
                                        const std::string& shown) {
  std::unique_ptr<DIR, int (*)(DIR*)> list(::fdopendir(::dup(dir)), ::closedir);
  if (!list) {
    return errno_says("list " + shown);
  }
  while (const dirent* entry = ::readdir(list.get())) {
    const std::string name = entry->d_name;
    if (!name.starts_with("qmd-") || name == own) {
      continue;
    }
    UniqueFd fd(::openat(dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    struct stat st {};
    if (!fd || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) ||
        ::flock(fd.get(), LOCK_SH | LOCK_NB) == 0) {
      continue;  // gone meanwhile, or its qmd is gone
    }
    const auto holder = read_holder(fd.get());
    if (!holder) {
      return fmt::format("{}/{} is held by a running process but names no qemuUids range; "
                         "end that process or remove the file",
                         shown, name);
    }
    if (overlap(holder->range, range)) {
      return fmt::format(
          "qemuUids {}–{} overlap {}–{} of the qmd running as pid {} (state dir {}): two "
          "qmds of one host must hand out different uids, or one's VM could read the other's "
          "files; give this qmd a range of its own (--qemu-uids FIRST:COUNT or qemuUids in "
          "qmd.yaml)",
          range.first, range.end() - 1, holder->range.first, holder->range.end() - 1,
          name.substr(4), holder->state_dir);
    }
  }
  return std::nullopt;
}

}  // namespace

UidRangeLock::~UidRangeLock() {
  if (dir_ && file_) {
    (void)::unlinkat(dir_.get(), name_.c_str(), 0);
  }
}

std::expected<UidRangeLock, std::string> lock_uid_range(const UidRange& range,
                                                        const std::string& state_dir,
                                                        const std::string& dir) {
  auto dir_fd = open_lock_dir(dir);
  if (!dir_fd) {
    return std::unexpected(dir_fd.error());
  }
  const std::string name = fmt::format("qmd-{}", ::getpid());
  auto own = publish_own(dir_fd->get(), name, range, state_dir);
  if (!own) {
    return std::unexpected(fmt::format("{}/{}", dir, own.error()));
  }
  UidRangeLock lock(std::move(*dir_fd), std::move(*own), name);
  // Published before looking: two qmds starting at once each see the other and both refuse,
  // never both start.
  if (auto refusal = live_overlap(lock.dir(), name, range, dir)) {
    return std::unexpected(*refusal);
  }
  return lock;
}

}  // namespace qmd::daemon
