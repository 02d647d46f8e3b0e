#pragma once
// qmd.yaml's `ipv6: auto` made real: a random RFC 4193 /64 made the first time the network
// comes up and kept in its state dir (<stateDir>/network/ipv6-prefix), so the guests keep
// their addresses across qmd restarts and host reboots. Blocking: the daemon's pool.
#include <expected>
#include <optional>
#include <string>

#include "daemon/network/ipv6.hpp"

namespace qmd::daemon::network {

// `configured` is qmd.yaml's value: empty (no IPv6: nothing), a prefix (checked when the
// config was read), or auto (the kept one, made now when there is none yet).
std::expected<std::optional<Ipv6Prefix>, std::string> resolve_ipv6_prefix(
    const std::string& configured, const std::string& state_dir);

}  // namespace qmd::daemon::network
