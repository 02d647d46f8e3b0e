// Host ports for interfaces[].ports, with real sockets: a port this test binds is taken.
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "daemon/host/port_forward.hpp"
#include "base/unique_fd.hpp"

using namespace qmd::daemon;
using qmd::UniqueFd;
using qmd::policy::PortForward;

namespace {

// A TCP (or UDP) socket bound to a port the kernel picks on every address; TCP listens.
struct Taken {
  UniqueFd fd;
  std::uint16_t port = 0;
};

Taken take_port(int type) {
  Taken out{UniqueFd(::socket(AF_INET6, type | SOCK_CLOEXEC, 0))};
  REQUIRE(out.fd);
  const int off = 0;
  ::setsockopt(out.fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
  sockaddr_in6 addr{};
  addr.sin6_family = AF_INET6;
  addr.sin6_addr = in6addr_any;
  REQUIRE(::bind(out.fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  if (type == SOCK_STREAM) {
    REQUIRE(::listen(out.fd.get(), 1) == 0);
  }
  socklen_t len = sizeof(addr);
  REQUIRE(::getsockname(out.fd.get(), reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  out.port = ntohs(addr.sin6_port);
  return out;
}

// A port that is free now: one the kernel handed out and this test let go again.
std::uint16_t free_port(int type) { return take_port(type).port; }

PortForward forward(std::string iface, std::string protocol, std::uint16_t port) {
  return {std::move(iface), "", std::move(protocol), port, port};
}

}  // namespace

TEST_CASE("no forwards, nothing to allocate") {
  auto got = allocate_host_ports("vm1", {}, {}, {});
  REQUIRE(got);
  CHECK(got->empty());
}

TEST_CASE("a free port keeps its own number") {
  const auto port = free_port(SOCK_STREAM);
  auto got = allocate_host_ports("vm1", {forward("default", "TCP", port)}, {}, {});
  REQUIRE_MESSAGE(got, (got ? "" : got.error()));
  CHECK(*got == std::vector{forward("default", "TCP", port)});
}

TEST_CASE("a port bound on the host falls back to the range, or fails without one") {
  for (int type : {SOCK_STREAM, SOCK_DGRAM}) {
    const std::string protocol = type == SOCK_STREAM ? "TCP" : "UDP";
    CAPTURE(protocol);
    auto taken = take_port(type);
    auto refused = allocate_host_ports("vm1", {forward("default", protocol, taken.port)}, {}, {});
    REQUIRE_FALSE(refused);
    CHECK(refused.error() ==
          "VM vm1 (interface default): host " + protocol + " port " +
              std::to_string(taken.port) +
              " for ports[] of the interface is taken (it cannot be bound on this host: Address "
              "already in use), and qmd.yaml has no network.ports.range to take another from; "
              "free the port, or set network: {ports: {range: \"20000-20999\"}}");
    const auto spare = free_port(type);
    auto got = allocate_host_ports("vm1", {forward("default", protocol, taken.port)},
                                   PortRange{spare, spare}, {});
    REQUIRE_MESSAGE(got, (got ? "" : got.error()));
    REQUIRE(got->size() == 1);
    CHECK((*got)[0].guest_port == taken.port);
    CHECK((*got)[0].host_port == spare);
  }
}

TEST_CASE("a port another VM forwards is not taken again") {
  const auto port = free_port(SOCK_STREAM);
  const HeldPorts held{{{"TCP", port}, "VM web (interface default)"}};
  auto refused = allocate_host_ports("vm1", {forward("lan", "TCP", port)}, {}, held);
  REQUIRE_FALSE(refused);
  CHECK(refused.error() == "VM vm1 (interface lan): host TCP port " + std::to_string(port) +
                               " for ports[] of the interface is taken (VM web (interface "
                               "default) forwards it), and qmd.yaml has no network.ports.range "
                               "to take another from; free the port, or set network: {ports: "
                               "{range: \"20000-20999\"}}");
  // The same number over UDP is another port.
  CHECK(allocate_host_ports("vm1", {forward("lan", "UDP", port)}, {}, held));
}

TEST_CASE("two interfaces forwarding one guest port get two host ports") {
  const auto port = free_port(SOCK_STREAM);
  const auto spare = free_port(SOCK_STREAM);
  auto got = allocate_host_ports("vm1", {forward("a", "TCP", port), forward("b", "TCP", port)},
                                 PortRange{spare, spare}, {});
  REQUIRE_MESSAGE(got, (got ? "" : got.error()));
  CHECK((*got)[0].host_port == port);
  CHECK((*got)[1].host_port == spare);
}

TEST_CASE("a full range says so") {
  auto taken = take_port(SOCK_STREAM);
  auto in_range = take_port(SOCK_STREAM);
  auto got = allocate_host_ports("vm1", {forward("default", "TCP", taken.port)},
                                 PortRange{in_range.port, in_range.port}, {});
  REQUIRE_FALSE(got);
  CHECK(got.error() == "VM vm1 (interface default): host TCP port " + std::to_string(taken.port) +
                           " is taken (it cannot be bound on this host: Address already in "
                           "use), and no free TCP port in network.ports.range " +
                           std::to_string(in_range.port) + "-" + std::to_string(in_range.port) +
                           " (Address already in use); widen it in qmd.yaml");
}
