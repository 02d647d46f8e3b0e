#include "daemon/host/free_port.hpp"

#include <fmt/format.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "base/unique_fd.hpp"

namespace qmd::daemon {

std::expected<std::uint16_t, std::string> free_tcp_port(const std::string& address,
                                                        std::uint16_t low, std::uint16_t high,
                                                        const std::set<std::uint16_t>& taken) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  std::string last = "every port is taken";
  for (unsigned port = low; port <= high; ++port) {
    if (taken.contains(static_cast<std::uint16_t>(port))) {
      continue;
    }
    addrinfo* found = nullptr;
    const std::string service = std::to_string(port);
    if (const int rc = ::getaddrinfo(address.c_str(), service.c_str(), &hints, &found); rc != 0) {
      return std::unexpected(fmt::format("migration address {}: {}", address, ::gai_strerror(rc)));
    }
    UniqueFd fd(::socket(found->ai_family, found->ai_socktype | SOCK_CLOEXEC, 0));
    const bool bound = fd && ::bind(fd.get(), found->ai_addr, found->ai_addrlen) == 0;
    if (!bound) {
      last = std::strerror(errno);
    }
    ::freeaddrinfo(found);
    if (bound) {
      return static_cast<std::uint16_t>(port);
    }
  }
  return std::unexpected(fmt::format("no free port in {}-{} on {} ({}); widen migration.ports",
                                     low, high, address, last));
}

}  // namespace qmd::daemon
