// qmctl network [down]: the managed NAT network masquerade interfaces join (its bridge,
// addresses, the VMs on it), and its removal while no VM uses it.
#include <fmt/format.h>

#include <boost/json.hpp>
#include <iostream>

#include "daemon/qmctl/api_client.hpp"
#include "daemon/qmctl/api_result.hpp"
#include "daemon/qmctl/args.hpp"
#include "daemon/qmctl/commands.hpp"

namespace qmd::qmctl {

namespace {

namespace json = boost::json;

std::string text(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr) {
    return "-";
  }
  return v->is_string() ? std::string(v->as_string()) : json::serialize(*v);
}

void print_leases(const json::object& n) {
  const auto* leases = n.if_contains("leases");
  if (leases == nullptr || !leases->is_array()) {
    return;
  }
  for (const auto& item : leases->as_array()) {
    if (item.is_object()) {
      const auto& l = item.as_object();
      const std::string ipv6 = text(l, "ipv6Address");
      std::cout << fmt::format("{:<20} {:<12} {:<17} {}{}\n", text(l, "vm"), text(l, "interface"),
                               text(l, "mac"), text(l, "ipAddress"),
                               ipv6 == "null" || ipv6 == "-" ? "" : " " + ipv6);
    }
  }
}

// One managed network: "bridge qmd0 10.91.0.0/24 gateway 10.91.0.1: up, dnsmasq pid 812".
void print_managed(const json::object& n) {
  const std::string ipv4 = text(n, "ipv4");
  const std::string ipv6 = text(n, "ipv6");
  std::cout << fmt::format("bridge {} {}{}: {}, dnsmasq pid {}\n", text(n, "bridge"),
                           ipv4 == "null" ? "(no address)"
                                          : fmt::format("{} gateway {}", ipv4, text(n, "gateway")),
                           ipv6 == "null" || ipv6 == "-" ? "" : " ipv6 " + ipv6,
                           text(n, "up") == "true" ? "up" : "down", text(n, "dnsmasqPid"));
  print_leases(n);
}

void print_network(const json::value& value) {
  if (!value.is_object()) {
    return;
  }
  const auto& n = value.as_object();
  if (text(n, "mode") != "nat") {
    std::cout << "masquerade: user-mode networking (network.masquerade: user)\n";
  } else {
    print_managed(n);  // the NAT network
  }
  const auto* bridges = n.if_contains("bridges");
  if (bridges == nullptr || !bridges->is_array()) {
    return;
  }
  for (const auto& item : bridges->as_array()) {
    if (item.is_object()) {
      const auto& b = item.as_object();
      std::cout << fmt::format("network {} (dhcp {}, nat {}): ", text(b, "name"), text(b, "dhcp"),
                               text(b, "nat"));
      print_managed(b);
    }
  }
}

int network(const Invocation& in) {
  const ApiClient client = client_for(in.globals);
  if (in.names.empty()) {
    return finish(in.globals, client.request("GET", "/v1/network"), print_network);
  }
  if (in.names.front() != "down") {
    return fail(fmt::format("network {}: the subcommand is `down` (or none)", in.names.front()));
  }
  if (in.names.size() > 1) {
    const std::string& name = in.names[1];
    return finish(in.globals,
                  client.request("POST", fmt::format("/v1/network/{}/down", name)),
                  fmt::format("network {} is down (its bridge, nftables tables and dnsmasq are "
                              "gone)",
                              name));
  }
  return finish(in.globals, client.request("POST", "/v1/network/down"),
                "the NAT network is down (its bridge, nftables tables and dnsmasq are gone)");
}

const CommandSpec& spec() {
  static const CommandSpec kSpec{
      "network",
      "network [down [NAME]]",
      "the managed networks (NAT, and bridges qmd makes); `down` removes one (root)",
      "Shows the NAT network and each bridge qmd makes for a multus network (qmd.yaml's\n"
      "bridges: NAME: {bridge: ...}): its bridge, CIDR and gateway, dnsmasq and each VM\n"
      "interface's stable address. `network down` removes the NAT network's bridge, qmd's\n"
      "nftables tables and dnsmasq; `network down NAME` does so for bridge network NAME. It\n"
      "is refused while a VM uses the network. The next VM start brings it up again, with\n"
      "the same addresses.\n",
      {},
      0,
      2};
  return kSpec;
}

}  // namespace

bool is_network_command(std::string_view name) { return name == "network"; }

std::string network_command_summary() { return summary_line(spec().usage, spec().summary); }

int cmd_network(const std::vector<std::string>& args, GlobalFlags globals) {
  return run_command(spec(), kGlobalFlagsHelp, args, std::move(globals), network);
}

}  // namespace qmd::qmctl
