// GET /v1/network (the managed NAT network: addresses, attached VMs, dnsmasq) and
// POST /v1/network/down (its removal while no VM uses it).
#include <fmt/format.h>
#include <unistd.h>

#include <boost/json/serialize.hpp>

#include "daemon/api/network_json.hpp"
#include "daemon/api/routes.hpp"

namespace qmd::daemon::api {

namespace json = boost::json;

namespace {

json::value ipv6_json(const std::optional<network::Ipv6Address>& ipv6) {
  return ipv6 ? json::value(network::format_ipv6(*ipv6)) : json::value(nullptr);
}

json::object lease_json(const std::string& vm, const std::string& interface, const std::string& mac,
                        std::uint32_t ipv4, const std::optional<network::Ipv6Address>& ipv6) {
  return {{"vm", vm},
          {"interface", interface},
          {"mac", mac},
          {"ipAddress", network::format_ipv4(ipv4)},
          {"ipv6Address", ipv6_json(ipv6)}};
}

}  // namespace

// One managed network's state: the NAT network's, or a bridge network's.
json::object managed_json(const network::NatNetwork& net) {
  const auto s = net.status();
  json::array attached;
  for (const auto& a : s.attached) {
    auto entry = lease_json(a.vm, a.interface, a.mac, a.ipv4, a.ipv6);
    entry["tap"] = a.tap;
    attached.push_back(std::move(entry));
  }
  json::array leases;
  for (const auto& l : s.leases) {
    leases.push_back(lease_json(l.vm, l.interface, l.mac, l.ipv4, l.ipv6));
  }
  const bool ipv4 = net.settings().has_ipv4;
  return {{"bridge", s.bridge},
          {"ipv4", ipv4 ? json::value(network::format_cidr(s.cidr)) : json::value(nullptr)},
          {"gateway",
           ipv4 ? json::value(network::format_ipv4(s.cidr.gateway())) : json::value(nullptr)},
          {"ipv6", s.ipv6 ? json::value(network::format_prefix(*s.ipv6)) : json::value(nullptr)},
          {"up", s.up},
          {"dnsmasqPid", s.dnsmasq_pid > 0 ? json::value(s.dnsmasq_pid) : json::value(nullptr)},
          {"attached", std::move(attached)},
          {"repairs", s.repairs},
          {"leases", std::move(leases)}};
}

json::object network_json(const network::NatNetwork* nat, const BridgeNetworks& bridges) {
  json::object out{{"mode", "user"}};
  if (nat != nullptr) {
    out = managed_json(*nat);
    out["mode"] = "nat";
  }
  json::array list;
  for (const auto& [name, net] : bridges) {
    auto entry = managed_json(*net);
    entry["name"] = name;
    entry["dhcp"] = net->settings().dhcp;
    entry["dns"] = net->settings().dns;
    entry["nat"] = net->settings().nat;
    list.push_back(std::move(entry));
  }
  out["bridges"] = std::move(list);
  return out;
}

json::array nat_interfaces_json(const network::NatNetwork& nat, const std::string& vm) {
  json::array out;
  const auto s = nat.status();
  for (const auto& l : s.leases) {
    if (l.vm == vm) {
      out.push_back(json::object{{"name", l.interface},
                                 {"mac", l.mac},
                                 {"ipAddress", network::format_ipv4(l.ipv4)},
                                 {"ipv6Address", ipv6_json(l.ipv6)},
                                 {"bridge", s.bridge},
                                 {"attached", nat.attachment(vm, l.interface).has_value()}});
    }
  }
  return out;
}

namespace {

// A network that would not go down: still in use (its VMs named), or a step failed.
Response down_refused(const std::string& why) {
  const bool in_use = why.find("in use by") != std::string::npos;
  return op_error_response(op_error(in_use ? OpError::Code::conflict : OpError::Code::failed, why));
}

// POST /v1/network/{name}/down: a bridge qmd made for a multus network, removed.
void add_bridge_network_down_route(Router& router, DaemonContext& ctx) {
  router.add(
      http::verb::post, "/v1/network/{name}/down",
      [&ctx](Request request) -> asio::awaitable<Response> {
        if (request.peer.uid != 0 && request.peer.uid != ::geteuid()) {
          co_return op_error_response(
              op_error(OpError::Code::forbidden, "taking a network down is for root"));
        }
        const std::string name = request.param("name");
        const auto found = ctx.bridge_networks.find(name);
        if (found == ctx.bridge_networks.end()) {
          co_return op_error_response(op_error(
              OpError::Code::not_found, fmt::format("no bridge qmd makes is named {} (qmd.yaml's "
                                                    "bridges: NAME: {{bridge: ...}})",
                                                    name)));
        }
        auto net = found->second;
        auto done = co_await net->down();
        if (!done) {
          co_return down_refused(done.error());
        }
        co_return json_response(json::serialize(network_json(ctx.nat.get(), ctx.bridge_networks)));
      });
}

}  // namespace

void add_network_routes(Router& router, DaemonContext& ctx) {
  router.add(http::verb::get, "/v1/network", [&ctx](Request) -> asio::awaitable<Response> {
    co_return json_response(json::serialize(network_json(ctx.nat.get(), ctx.bridge_networks)));
  });
  router.add(
      http::verb::post, "/v1/network/down", [&ctx](Request request) -> asio::awaitable<Response> {
        if (request.peer.uid != 0 && request.peer.uid != ::geteuid()) {
          co_return op_error_response(
              op_error(OpError::Code::forbidden, "taking the NAT network down is for root"));
        }
        if (!ctx.nat) {
          co_return op_error_response(op_error(OpError::Code::conflict,
                                               "this qmd runs no NAT network (network.masquerade: "
                                               "user)"));
        }
        auto nat = ctx.nat;
        auto done = co_await nat->down();
        if (!done) {
          co_return down_refused(done.error());
        }
        co_return json_response(json::serialize(network_json(ctx.nat.get(), ctx.bridge_networks)));
      });
  add_bridge_network_down_route(router, ctx);
}

}  // namespace qmd::daemon::api
