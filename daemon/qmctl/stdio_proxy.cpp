// qmctl stdio-proxy: one connection to qmd's socket relayed over stdin/stdout, so that a qmd
// on another host reaches this one's API through `ssh HOST qmctl stdio-proxy` (as libvirt's
// virt-ssh-helper). Ends when either side closes.
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <string>

#include "base/unique_fd.hpp"
#include "daemon/qmctl/commands.hpp"

namespace qmd::qmctl {

namespace {

// Copies what `from` has now to `to`; false at EOF or on an error.
bool pump(int from, int to) {
  char buffer[65536];
  const ssize_t n = ::read(from, buffer, sizeof(buffer));
  if (n <= 0) {
    return n < 0 && (errno == EINTR || errno == EAGAIN);
  }
  for (ssize_t done = 0; done < n;) {
    const ssize_t w = ::write(to, buffer + done, static_cast<std::size_t>(n - done));
    if (w < 0) {
      if (errno == EINTR) {
        continue;
      }
      return false;
    }
    done += w;
  }
  return true;
}

}  // namespace

int stdio_proxy(const std::string& socket_path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (!fd || socket_path.size() >= sizeof(addr.sun_path)) {
    std::cerr << "qmctl stdio-proxy: bad socket " << socket_path << "\n";
    return 1;
  }
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    std::cerr << "qmctl stdio-proxy: cannot reach qmd at " << socket_path << ": "
              << std::strerror(errno) << "\n";
    return 1;
  }
  bool stdin_open = true;
  for (;;) {
    pollfd fds[2] = {{fd.get(), POLLIN, 0}, {STDIN_FILENO, POLLIN, 0}};
    if (::poll(fds, stdin_open ? 2 : 1, -1) < 0) {
      if (errno == EINTR) {
        continue;
      }
      return 1;
    }
    if (fds[0].revents != 0 && !pump(fd.get(), STDOUT_FILENO)) {
      return 0;  // qmd closed: the exchange is over
    }
    if (stdin_open && fds[1].revents != 0 && !pump(STDIN_FILENO, fd.get())) {
      stdin_open = false;  // the caller is done sending; qmd may still answer
      ::shutdown(fd.get(), SHUT_WR);
    }
  }
}

}  // namespace qmd::qmctl
