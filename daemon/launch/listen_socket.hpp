#pragma once
// A unix socket qmd binds and listens on before it starts the process that will accept on
// it (QEMU's QMP monitor, passed as `-chardev socket,fd=N,server=on`): qmd can connect at
// once, its connection waits in the backlog until the child accepts, and nobody polls for
// the socket to appear.
#include <expected>
#include <string>

#include "base/unique_fd.hpp"

namespace qmd::daemon {

// Binds `name` in the directory `dir` and listens on it; returns the listening socket
// (blocking, close-on-exec). Whatever was at `name` before (a stale socket, a file, a link)
// is removed first and never followed; a directory there is an error. The socket file is
// made by qmd, with qmd's umask, so only qmd's user may connect to it. `shown` is the path
// errors name.
std::expected<UniqueFd, std::string> listen_unix_at(int dir, const std::string& name,
                                                    const std::string& shown);

}  // namespace qmd::daemon
