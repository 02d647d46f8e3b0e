#include "qmp/pinned_socket.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace qmd::qmp {

std::expected<PinnedSocket, int> PinnedSocket::open(const std::string& path) {
  // O_PATH with O_NOFOLLOW opens a link itself, never its target: fstat then says so.
  const int fd = ::open(path.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    return std::unexpected(errno);
  }
  PinnedSocket pinned(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    return std::unexpected(errno);
  }
  if (!S_ISSOCK(st.st_mode)) {
    return std::unexpected(ENOTSOCK);
  }
  return pinned;
}

PinnedSocket::PinnedSocket(int fd)
    : fd_(fd), proc_path_("/proc/self/fd/" + std::to_string(fd)) {}

std::string socket_refusal(int error) {
  return error == ENOTSOCK ? "not a socket (qmd follows no link there)"
                           : std::error_code(error, std::generic_category()).message();
}

}  // namespace qmd::qmp
