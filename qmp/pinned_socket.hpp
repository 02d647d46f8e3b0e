#pragma once
// A Unix socket reached without following a link in the last part of its path. QEMU's sockets
// live in a run dir its VM's uid may write: a link planted there to another VM's socket must
// not take qmd (root) to that VM.
#include <expected>
#include <string>

#include "base/unique_fd.hpp"

namespace qmd::qmp {

class PinnedSocket {
 public:
  // The socket at `path` held by an O_PATH descriptor; an errno when it cannot be opened,
  // ENOTSOCK when it is a link or anything but a socket.
  static std::expected<PinnedSocket, int> open(const std::string& path);


  // Where connect(2) reaches that very socket while this object lives: /proc/self/fd/N.
  const std::string& path() const { return proc_path_; }

 private:
  explicit PinnedSocket(int fd);
  UniqueFd fd_;
  std::string proc_path_;
};

// Why PinnedSocket::open failed, in words ("not a socket (...)" for a link).
std::string socket_refusal(int error);

}  // namespace qmd::qmp
