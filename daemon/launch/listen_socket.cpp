#include "daemon/launch/listen_socket.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace qmd::daemon {
namespace {

// The kernel caps each socket's backlog at somaxconn anyway; QEMU sets its own when it
// takes the socket over. qmd makes one connection before QEMU accepts.
constexpr int kBacklog = 8;

std::string errno_text(const std::string& what, const std::string& shown) {
  return what + " " + shown + ": " + std::strerror(errno);
}

}  // namespace

std::expected<UniqueFd, std::string> listen_unix_at(int dir, const std::string& name,
                                                    const std::string& shown) {
  if (name.empty() || name.find('/') != std::string::npos) {
    return std::unexpected("socket " + shown + ": not a plain name");
  }
  // unlinkat removes a link itself, never what it points at; a directory stays (EISDIR).
  if (::unlinkat(dir, name.c_str(), 0) != 0 && errno != ENOENT) {
    return std::unexpected(errno_text("remove the old", shown));
  }
  // Through the directory's descriptor: nothing on the way is looked up again by path, and
  // a long run dir does not run into sun_path's 108 bytes.
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  const std::string via = "/proc/self/fd/" + std::to_string(dir) + "/" + name;
  if (via.size() >= sizeof address.sun_path) {
    return std::unexpected("socket " + shown + ": name too long");
  }
  std::memcpy(address.sun_path, via.c_str(), via.size() + 1);
  UniqueFd socket(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!socket) {
    return std::unexpected(errno_text("create the socket", shown));
  }
  if (::bind(socket.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    return std::unexpected(errno_text("bind", shown));
  }
  if (::listen(socket.get(), kBacklog) != 0) {
    const std::string failed = errno_text("listen on", shown);
    (void)::unlinkat(dir, name.c_str(), 0);
    return std::unexpected(failed);
  }
  return socket;
}

}  // namespace qmd::daemon
