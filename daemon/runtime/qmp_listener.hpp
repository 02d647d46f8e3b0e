#pragma once
// QEMU's QMP monitor on a socket qmd listens on before QEMU starts: the rendered
// `-chardev socket,...,path=P,server=on,wait=off` becomes `fd=N` for the descriptor qmd
// passes on, so qmd connects at once and its connection waits until QEMU accepts. The socket
// stays at P, where qmd (or a qmd restarted later, adopting the VM) connects by path. The
// rendered argv (`qmctl argv`) keeps `path=`: it is the one a person can run by hand.
#include <expected>
#include <string>
#include <vector>

#include "base/unique_fd.hpp"

namespace qmd::daemon {

// Listens on `socket_path` (its directory opened as configured, the socket itself made by
// listen_unix_at: never through a link).
std::expected<UniqueFd, std::string> listen_for_monitor(const std::string& socket_path);

// `args` with the one `-chardev socket` whose path is `socket_path` given `fd` instead of
// the path; an error when no chardev has that path. Pure.
std::expected<std::vector<std::string>, std::string> with_monitor_fd(
    const std::vector<std::string>& args, const std::string& socket_path, int fd);

}  // namespace qmd::daemon
