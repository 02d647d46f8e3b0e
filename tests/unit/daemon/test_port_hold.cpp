// The socket qmd holds for a DNAT-forwarded host port, with real sockets: while it is held,
// a host service binds the port neither plainly nor with SO_REUSEADDR; let go, it can.
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>

#include "daemon/host/port_hold.hpp"

using namespace qmd::daemon;
using qmd::UniqueFd;

namespace {

// What a host service coming back does: bind the port on every address (optionally with
// SO_REUSEADDR, as most servers do); the errno of a failed bind, 0 when it bound.
int service_bind(int type, std::uint16_t port, bool reuse) {
  UniqueFd fd(::socket(AF_INET6, type | SOCK_CLOEXEC, 0));
  REQUIRE(fd);
  const int on = 1;
  const int off = 0;
  if (reuse) {
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
  }
  ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
  sockaddr_in6 addr{};
  addr.sin6_family = AF_INET6;
  addr.sin6_addr = in6addr_any;
  addr.sin6_port = htons(port);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return errno;
  }
  return 0;
}

// A port that is free now: one the kernel hands out for a moment.
std::uint16_t free_port(int type) {
  UniqueFd fd(::socket(AF_INET6, type | SOCK_CLOEXEC, 0));
  sockaddr_in6 addr{};
  addr.sin6_family = AF_INET6;
  addr.sin6_addr = in6addr_any;
  REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  socklen_t len = sizeof(addr);
  REQUIRE(::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  return ntohs(addr.sin6_port);
}

}  // namespace

TEST_CASE("a held TCP port: no service binds it, reuse or not, until it is let go") {
  const std::uint16_t port = free_port(SOCK_STREAM);
  {
    auto held = hold_host_port("TCP", port);
    REQUIRE(held.has_value());
    CHECK(service_bind(SOCK_STREAM, port, false) == EADDRINUSE);
    CHECK(service_bind(SOCK_STREAM, port, true) == EADDRINUSE);
  }
  CHECK(service_bind(SOCK_STREAM, port, true) == 0);
}

TEST_CASE("a held UDP port: no service binds it, reuse or not, until it is let go") {
  const std::uint16_t port = free_port(SOCK_DGRAM);
  {
    auto held = hold_host_port("UDP", port);
    REQUIRE(held.has_value());
    CHECK(service_bind(SOCK_DGRAM, port, false) == EADDRINUSE);
    CHECK(service_bind(SOCK_DGRAM, port, true) == EADDRINUSE);
  }
  CHECK(service_bind(SOCK_DGRAM, port, false) == 0);
}

TEST_CASE("a port a service holds cannot be held: the error names protocol and port") {
  const std::uint16_t port = free_port(SOCK_STREAM);
  auto first = hold_host_port("TCP", port);
  REQUIRE(first.has_value());
  auto second = hold_host_port("TCP", port);
  REQUIRE_FALSE(second.has_value());
  CHECK(second.error() == "host TCP port " + std::to_string(port) +
                              " cannot be held for the forward: Address already in use");
}
