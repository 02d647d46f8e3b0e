#include "daemon/network/host_setup.hpp"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/ranges.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "daemon/network/host_routes.hpp"
#include "daemon/network/host_routes6.hpp"
#include "daemon/network/nft_rules.hpp"
#include "daemon/network/nft_tables.hpp"
#include "daemon/store/atomic_file.hpp"
#include "daemon/store/dir_fd.hpp"

namespace qmd::daemon::network {

namespace {

std::expected<void, std::string> check_host(const HostSetup& s) {
  if (auto route = s.ipv4 ? clashing_route(s.cidr, read_host_routes(), s.bridge) : std::nullopt) {
    return std::unexpected(fmt::format(
        "{} {} overlaps the host's route to {} on {}; choose another CIDR in "
        "qmd.yaml's {}",
        s.cidr_key, format_cidr(s.cidr), format_cidr(route->destination), route->device,
        s.cidr_key));
  }
  if (auto route = s.ipv6 ? clashing_route6(*s.ipv6, read_host_routes6(), s.bridge)
                         : std::nullopt) {
    return std::unexpected(fmt::format(
        "{} {} overlaps the host's route to {}/{} on {}; choose another prefix in qmd.yaml's {}",
        s.ipv6_key, format_prefix(*s.ipv6), format_ipv6(route->destination), route->prefix,
        route->device, s.ipv6_key));
  }
  struct stat st {};
  const bool exists = ::stat(fmt::format("/sys/class/net/{}", s.bridge).c_str(), &st) == 0;
  if (!s.mark.empty() && exists && bridge_mark(s.bridge) != s.mark) {
    return std::unexpected(fmt::format("{} {}: an interface of that name exists and qmd did not "
                                       "make it; remove it, or choose another name (or map "
                                       "the network to it as a host bridge: NAME: {})",
                                       s.bridge_key, s.bridge, s.bridge));
  }
  if (s.needs_tun && ::access("/dev/net/tun", R_OK | W_OK) != 0) {
    return std::unexpected(fmt::format("/dev/net/tun: {}; the NAT network's taps need it "
                                       "(modprobe tun), or set network.masquerade: user",
                                       std::strerror(errno)));
  }
  return {};
}

}  // namespace

std::expected<void, std::string> make_run_dir(const ToolPlaces& places) {
  // A bridge network's <runDir>/network/bridges/BRIDGE: its parents 0755 too (qmd's umask
  // would make them 0750), or dnsmasq, once it has dropped root, cannot re-read its files.
  if (const auto at = places.dir.rfind("/network/bridges/"); at != std::string::npos) {
    for (const auto& parent : {places.dir.substr(0, at + 8), places.dir.substr(0, at + 16)}) {
      if (auto made = make_dir_path(parent, 0755, self_owner()); !made) {
        return std::unexpected(made.error());
      }
    }
  }
  auto made = make_dir_path(places.dir, 0755, self_owner());
  if (!made) {
    return std::unexpected(made.error());
  }
  return {};
}

std::expected<void, std::string> write_hosts_file(const std::string& path,
                                                  const std::string& text) {
  return write_file_atomic(path, text, 0644);
}

std::expected<void, std::string> set_up_host(const HostSetup& s) {
  if (auto checked = check_host(s); !checked) {
    return checked;
  }
  if (auto dir = make_run_dir(s.places); !dir) {
    return dir;
  }
  if (s.dnsmasq_files) {
    auto written = write_file_atomic(s.conf_path, dnsmasq_conf(s.dnsmasq), 0644);
    if (written) {
      written = write_hosts_file(s.dnsmasq.hosts_file, s.hosts_text);
    }
    if (!written) {
      return std::unexpected(written.error());
    }
  }
  const bool bridge_was_there = bridge_exists(s.bridge);
  const BridgeAddresses addresses{s.ipv4 ? std::optional(s.cidr) : std::nullopt, s.ipv6};
  auto done = create_bridge(s.bridge, addresses, s.places, s.bridge_key, s.mark);
  if (done && s.forward) {
    done = enable_ip_forward();
  }
  if (done && s.forward && s.ipv6) {
    done = enable_ipv6_forward(s.ipv6_key);
  }
  if (done) {
    done = nft_apply(s.tables.empty() ? in_table(nat_tables({s.bridge, s.cidr, s.ipv6}), s.table)
                                   : s.tables,
                     s.places);
  }
  if (!done) {
    for (auto& step : tables_delete_steps()) {
      (void)nft_apply(in_table(one_command(std::move(step)), s.table), s.places);
    }
    if (!bridge_was_there) {
      (void)delete_bridge(s.bridge, s.places);
    }
  }
  return done;
}

std::expected<void, std::string> tear_down_host(const std::string& bridge,
                                                const ToolPlaces& places,
                                                const std::string& table) {
  std::vector<std::string> left;
  auto steps = tables_delete_steps();
  const char* families[] = {"inet", "bridge"};
  for (std::size_t i = 0; i < steps.size(); ++i) {
    if (!nft_table_exists(families[i], places, table)) {
      continue;
    }
    if (auto done = nft_apply(in_table(one_command(std::move(steps[i])), table), places);
        !done) {
      left.push_back(done.error());
    }
  }
  if (auto done = delete_bridge(bridge, places); !done) {
    left.push_back(done.error());
  }
  if (!left.empty()) {
    return std::unexpected(fmt::format("{}", fmt::join(left, "; ")));
  }
  return {};
}

}  // namespace qmd::daemon::network
