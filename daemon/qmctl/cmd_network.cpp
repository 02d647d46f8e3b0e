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

void print_network(const json::value& value) {
  if (!value.is_object()) {
    return;
  }
  const auto& n = value.as_object();
  if (text(n, "mode") != "nat") {
    std::cout << "masquerade: user-mode networking (network.masquerade: user)\n";
    return;
  }
  std::cout << fmt::format("bridge {} {} gateway {}: {}, dnsmasq pid {}\n", text(n, "bridge"),
                           text(n, "ipv4"), text(n, "gateway"),
                           text(n, "up") == "true" ? "up" : "down", text(n, "dnsmasqPid"));
  const auto* leases = n.if_contains("leases");
  if (leases == nullptr || !leases->is_array()) {
    return;
  }
  for (const auto& item : leases->as_array()) {
    if (item.is_object()) {
      const auto& l = item.as_object();
      std::cout << fmt::format("{:<20} {:<12} {:<17} {}\n", text(l, "vm"), text(l, "interface"),
                               text(l, "mac"), text(l, "ipAddress"));
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
  return finish(in.globals, client.request("POST", "/v1/network/down"),
                "the NAT network is down (its bridge, nftables tables and dnsmasq are gone)");
}

const CommandSpec& spec() {
  static const CommandSpec kSpec{
      "network",
      "network [down]",
      "the NAT network masquerade interfaces join; `down` removes it (root)",
      "Shows the bridge, its CIDR and gateway, dnsmasq and each VM interface's stable\n"
      "address. `network down` removes the bridge, qmd's nftables tables and dnsmasq; it is\n"
      "refused while a VM uses the network. The next VM start brings it up again, with the\n"
      "same addresses.\n",
      {},
      0,
      1};
  return kSpec;
}

}  // namespace

bool is_network_command(std::string_view name) { return name == "network"; }

std::string network_command_summary() { return summary_line(spec().usage, spec().summary); }

int cmd_network(const std::vector<std::string>& args, GlobalFlags globals) {
  return run_command(spec(), kGlobalFlagsHelp, args, std::move(globals), network);
}

}  // namespace qmd::qmctl
