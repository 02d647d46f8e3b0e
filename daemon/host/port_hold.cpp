#include "daemon/host/port_hold.hpp"

#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace qmd::daemon {

std::expected<UniqueFd, int> bound_dual_stack(int type, std::uint16_t port, bool reuse) {
  UniqueFd fd(::socket(AF_INET6, type | SOCK_CLOEXEC, 0));
  if (!fd) {
    return std::unexpected(errno);
  }
  const int on = 1;
  const int off = 0;
  if (reuse) {
    (void)::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
  }
  (void)::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
  sockaddr_in6 addr{};
  addr.sin6_family = AF_INET6;
  addr.sin6_addr = in6addr_any;
  addr.sin6_port = htons(port);
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    return std::unexpected(errno);
  }
  return fd;
}

std::expected<UniqueFd, std::string> hold_host_port(const std::string& protocol,
                                                    std::uint16_t port) {
  const bool tcp = protocol != "UDP";
  // Without SO_REUSEADDR a bound socket excludes every later bind of the port, reuse or not.
  auto held = bound_dual_stack(tcp ? SOCK_STREAM : SOCK_DGRAM, port, false);
  if (!held && tcp && held.error() == EADDRINUSE) {
    // Connections of a past holder in TIME_WAIT: a listener excludes every bind as well.
    held = bound_dual_stack(SOCK_STREAM, port, true);
    if (held && ::listen(held->get(), 1) != 0) {
      held = std::unexpected(errno);
    }
  }
  if (!held) {
    return std::unexpected(fmt::format("host {} port {} cannot be held for the forward: {}",
                                       tcp ? "TCP" : "UDP", port, std::strerror(held.error())));
  }
  return std::move(*held);
}

}  // namespace qmd::daemon
