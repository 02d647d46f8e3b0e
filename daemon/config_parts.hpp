#pragma once
// Pieces of the config reader that live in their own files (config.cpp calls them).
#include <optional>
#include <string>
#include <string_view>

#include "daemon/config.hpp"
#include "policy/yaml_reader.hpp"

namespace qmd::daemon::config_parts {

// Why `name` is not a Linux interface name (what the kernel's dev_valid_name() refuses).
std::optional<std::string> bad_ifname(const std::string& name);

// Checks an `ipv6` value (a unique local /64 or auto) at `key` of `map`, and that it
// overlaps no other network's prefix in `out`.
void check_ipv6(policy::yaml::MapReader& map, std::string_view key, const std::string& text,
                const Config& out);

// bridges: {NET: HOSTBRIDGE, NET: {bridge: B, ipv4: CIDR, dhcp: B, dns: B, nat: B}}. Reads
// after `network` (a bridge may not be the NAT network's, nor overlap its CIDR).
void read_bridges(policy::yaml::MapReader& top, Config& out);

}  // namespace qmd::daemon::config_parts
