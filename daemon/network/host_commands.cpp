#include "daemon/network/host_commands.hpp"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json/serialize.hpp>
#include <chrono>
#include <fstream>
#include <sstream>
#include <vector>

#include "daemon/launch/child_process.hpp"
#include "daemon/network/host_routes6.hpp"
#include "daemon/store/atomic_file.hpp"

namespace qmd::daemon::network {

using namespace std::chrono_literals;

namespace {

constexpr auto kToolTimeout = 10s;

std::expected<void, std::string> run(const std::vector<std::string>& argv,
                                     const ToolPlaces& places) {
  return run_to_completion(argv, places.log(), kToolTimeout);
}

}  // namespace

bool bridge_exists(const std::string& name) {
  struct stat st {};
  return ::stat(fmt::format("/sys/class/net/{}/bridge", name).c_str(), &st) == 0;
}

std::string bridge_mark(const std::string& name) {
  std::ifstream in(fmt::format("/sys/class/net/{}/ifalias", name));
  std::string mark;
  std::getline(in, mark);
  return mark;
}

std::string bridge_mac(const std::string& name) {
  std::uint32_t hash = 2166136261u;  // FNV-1a
  for (char c : name) {
    hash = (hash ^ static_cast<unsigned char>(c)) * 16777619u;
  }
  return fmt::format("02:71:6d:{:02x}:{:02x}:{:02x}", (hash >> 16) & 0xff, (hash >> 8) & 0xff,
                     hash & 0xff);
}

std::expected<void, std::string> create_bridge(const std::string& name,
                                               const BridgeAddresses& addresses,
                                               const ToolPlaces& places, const std::string& key,
                                               const std::string& mark) {
  struct stat st {};
  if (::stat(fmt::format("/sys/class/net/{}", name).c_str(), &st) == 0 && !bridge_exists(name)) {
    return std::unexpected(fmt::format("{} {}: an interface of that name "
                                       "exists and is not a bridge; remove it or choose "
                                       "another name",
                                       key, name));
  }
  const bool made = !bridge_exists(name);
  std::vector<std::vector<std::string>> steps{
      {"ip", "link", "add", name, "address", bridge_mac(name), "type", "bridge"}};
  if (!mark.empty()) {
    steps.push_back({"ip", "link", "set", name, "alias", mark});
  }
  if (addresses.ipv4) {
    steps.push_back({"ip", "addr", "replace", gateway_with_prefix(*addresses.ipv4), "dev", name});
  }
  if (addresses.ipv6) {
    // nodad: the address is qmd's on a link qmd owns; DAD would only delay dnsmasq's RAs.
    steps.push_back({"ip", "-6", "addr", "replace", ipv6_gateway_with_prefix(*addresses.ipv6),
                     "dev", name, "nodad"});
  }
  steps.push_back({"ip", "link", "set", name, "up"});
  for (std::size_t i = made ? 0 : 1; i < steps.size(); ++i) {
    if (auto done = run(steps[i], places); !done) {
      if (made) {
        (void)delete_bridge(name, places);
      }
      return std::unexpected(fmt::format("bridge {}: {}", name, done.error()));
    }
  }
  return {};
}

std::expected<void, std::string> delete_bridge(const std::string& name, const ToolPlaces& places) {
  if (!bridge_exists(name)) {
    return {};
  }
  if (auto done = run({"ip", "link", "del", name}, places); !done) {
    return std::unexpected(fmt::format("bridge {}: {}", name, done.error()));
  }
  return {};
}

std::expected<void, std::string> enable_ip_forward() {
  const char* path = "/proc/sys/net/ipv4/ip_forward";
  {
    std::ifstream in(path);
    std::string now;
    if (in >> now && now == "1") {
      return {};  // on already (the host's sysctl.d, or an earlier qmd)
    }
  }
  std::ofstream out(path);
  out << "1\n";
  out.flush();
  if (!out) {
    return std::unexpected(fmt::format("net.ipv4.ip_forward is 0 and qmd cannot write 1 to {} "
                                       "(NAT needs IPv4 forwarding; under systemd /proc/sys is "
                                       "read-only): set net.ipv4.ip_forward = 1 in "
                                       "/etc/sysctl.d/",
                                       path));
  }
  return {};
}

std::expected<void, std::string> enable_ipv6_forward(const std::string& key) {
  const char* path = "/proc/sys/net/ipv6/conf/all/forwarding";
  {
    std::ifstream in(path);
    std::string now;
    if (in >> now && now == "1") {
      return {};
    }
  }
  for (const auto& device : ra_default_devices(read_host_routes6())) {
    std::ifstream in(fmt::format("/proc/sys/net/ipv6/conf/{}/accept_ra", device));
    std::string accept;
    if (in >> accept && accept == "1") {
      return std::unexpected(fmt::format(
          "{}: NAT66 needs IPv6 forwarding, and with it on the host would ignore the router "
          "advertisements its default route on {} comes from; set net.ipv6.conf.{}.accept_ra "
          "= 2 in /etc/sysctl.d/ first, or drop {}",
          key, device, device, key));
    }
  }
  std::ofstream out(path);
  out << "1\n";
  out.flush();
  if (!out) {
    return std::unexpected(fmt::format("{}: net.ipv6.conf.all.forwarding is 0 and qmd cannot "
                                       "write 1 to {} (NAT66 needs IPv6 forwarding): set "
                                       "net.ipv6.conf.all.forwarding = 1 in /etc/sysctl.d/",
                                       key, path));
  }
  return {};
}

std::expected<void, std::string> nft_apply(const boost::json::object& batch,
                                           const ToolPlaces& places) {
  const std::string file = places.dir + "/nft-batch.json";
  if (auto written = write_file_atomic(file, boost::json::serialize(batch) + "\n", 0600);
      !written) {
    return std::unexpected(fmt::format("nftables: {}", written.error()));
  }
  if (auto done = run({"nft", "-j", "-f", file}, places); !done) {
    return std::unexpected(fmt::format("nftables (nft -j -f {}): {}", file, done.error()));
  }
  return {};
}

std::optional<std::string> nft_list_table(const std::string& family, const std::string& table,
                                          const ToolPlaces& places) {
  // The tool's output goes to a file of its own (appended: made empty first), read back.
  const std::string out = fmt::format("{}/nft-list-{}-{}.json", places.dir, family, table);
  ::unlink(out.c_str());
  auto listed = run_to_completion({"nft", "-j", "list", "table", family, table}, out,
                                  kToolTimeout);
  std::ifstream in(out);
  std::stringstream text;
  text << in.rdbuf();
  ::unlink(out.c_str());
  if (!listed) {
    return std::nullopt;
  }
  return text.str();
}

bool nft_table_exists(const std::string& family, const ToolPlaces& places,
                      const std::string& table) {
  return run({"nft", "list", "table", family, table}, places).has_value();
}

}  // namespace qmd::daemon::network
