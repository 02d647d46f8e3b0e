#include "daemon/store/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "base/unique_fd.hpp"

namespace qmd::daemon {
namespace {

// Closes `fd` now and says how that went: NFS and friends report write-back failures here.
int close_reporting(UniqueFd& fd) { return ::close(fd.release()); }

// Unlinks the temporary file unless it was renamed into place.
class TempFileGuard {
 public:
  explicit TempFileGuard(std::string path) : path_(std::move(path)) {}
  ~TempFileGuard() {
    if (!committed_) {
      ::unlink(path_.c_str());
    }
  }
  TempFileGuard(const TempFileGuard&) = delete;
  TempFileGuard& operator=(const TempFileGuard&) = delete;
  void commit() { committed_ = true; }

 private:
  std::string path_;
  bool committed_ = false;
};

std::string failure(const std::string& path, std::string_view step, int err) {
  return "write " + path + ": " + std::string(step) + ": " + std::strerror(err);
}

std::string parent_dir(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) {
    return ".";
  }
  return slash == 0 ? "/" : path.substr(0, slash);
}

bool write_all(int fd, std::string_view content) {
  while (!content.empty()) {
    const ssize_t n = ::write(fd, content.data(), content.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      if (n == 0) {
        errno = EIO;
      }
      return false;
    }
    content.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

enum class Durability { host_crash, qmd_crash };

std::expected<void, std::string> write_replacing(const std::string& path,
                                                 std::string_view content, unsigned mode,
                                                 Durability durability) {
  if (path.empty() || path.back() == '/') {
    return std::unexpected("write " + path + ": not a file path");
  }
  const std::string dir = parent_dir(path);
  const std::string base = path.substr(path.rfind('/') + 1);
  // Hidden and in the same directory, so rename() is atomic and VmStore skips it.
  std::string temp = dir + "/." + base + ".tmp-XXXXXX";
  UniqueFd fd(::mkostemp(temp.data(), O_CLOEXEC));
  if (fd.get() < 0) {
    return std::unexpected(failure(path, "create temporary file", errno));
  }
  TempFileGuard guard(temp);
  if (!write_all(fd.get(), content)) {
    return std::unexpected(failure(path, "write", errno));
  }
  if (::fchmod(fd.get(), static_cast<mode_t>(mode)) != 0) {
    return std::unexpected(failure(path, "chmod", errno));
  }
  const bool sync = durability == Durability::host_crash;
  if (sync && ::fsync(fd.get()) != 0) {
    return std::unexpected(failure(path, "fsync", errno));
  }
  if (close_reporting(fd) != 0) {
    return std::unexpected(failure(path, "close", errno));
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    return std::unexpected(failure(path, "rename", errno));
  }
  guard.commit();
  if (!sync) {
    return {};
  }
  // The rename is durable once the directory is.
  UniqueFd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir_fd.get() < 0 || ::fsync(dir_fd.get()) != 0) {
    return std::unexpected(failure(path, "fsync directory " + dir, errno));
  }
  return {};
}

}  // namespace

std::expected<void, std::string> write_file_atomic(const std::string& path,
                                                   std::string_view content, unsigned mode) {
  return write_replacing(path, content, mode, Durability::host_crash);
}

std::expected<void, std::string> replace_file(const std::string& path, std::string_view content,
                                              unsigned mode) {
  return write_replacing(path, content, mode, Durability::qmd_crash);
}

std::expected<std::string, std::string> read_file(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    return std::unexpected("read " + path + ": " + std::strerror(errno));
  }
  std::string out;
  char buf[8192];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return std::unexpected("read " + path + ": " + std::strerror(errno));
    }
    if (n == 0) {
      return out;
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
}

}  // namespace qmd::daemon
