// GET /v1/network (the managed NAT network: addresses, attached VMs, dnsmasq) and
// POST /v1/network/down (its removal while no VM uses it).
#include <unistd.h>

#include <boost/json/serialize.hpp>

#include "daemon/api/network_json.hpp"
#include "daemon/api/routes.hpp"

namespace qmd::daemon::api {

namespace json = boost::json;

namespace {

json::object lease_json(const std::string& vm, const std::string& interface,
                        const std::string& mac, std::uint32_t ipv4) {
  return {{"vm", vm}, {"interface", interface}, {"mac", mac},
          {"ipAddress", network::format_ipv4(ipv4)}};
}

}  // namespace

json::object network_json(const network::NatNetwork* nat) {
  if (nat == nullptr) {
    return {{"mode", "user"}};
  }
  const auto s = nat->status();
  json::array attached;
  for (const auto& a : s.attached) {
    auto entry = lease_json(a.vm, a.interface, a.mac, a.ipv4);
    entry["tap"] = a.tap;
    attached.push_back(std::move(entry));
  }
  json::array leases;
  for (const auto& l : s.leases) {
    leases.push_back(lease_json(l.vm, l.interface, l.mac, l.ipv4));
  }
  return {{"mode", "nat"},
          {"bridge", s.bridge},
          {"ipv4", network::format_cidr(s.cidr)},
          {"gateway", network::format_ipv4(s.cidr.gateway())},
          {"up", s.up},
          {"dnsmasqPid", s.dnsmasq_pid > 0 ? json::value(s.dnsmasq_pid) : json::value(nullptr)},
          {"attached", std::move(attached)},
          {"repairs", s.repairs},
          {"leases", std::move(leases)}};
}

json::array nat_interfaces_json(const network::NatNetwork& nat, const std::string& vm) {
  json::array out;
  const auto s = nat.status();
  for (const auto& l : s.leases) {
    if (l.vm == vm) {
      out.push_back(json::object{{"name", l.interface},
                                 {"mac", l.mac},
                                 {"ipAddress", network::format_ipv4(l.ipv4)},
                                 {"bridge", s.bridge},
                                 {"attached", nat.attachment(vm, l.interface).has_value()}});
    }
  }
  return out;
}

void add_network_routes(Router& router, DaemonContext& ctx) {
  router.add(http::verb::get, "/v1/network", [&ctx](Request) -> asio::awaitable<Response> {
    co_return json_response(json::serialize(network_json(ctx.nat.get())));
  });
  router.add(http::verb::post, "/v1/network/down",
             [&ctx](Request request) -> asio::awaitable<Response> {
               if (request.peer.uid != 0 && request.peer.uid != ::geteuid()) {
                 co_return error_response(403, "Forbidden",
                                          "taking the NAT network down is for root");
               }
               if (!ctx.nat) {
                 co_return error_response(409, "Conflict",
                                          "this qmd runs no NAT network (network.masquerade: "
                                          "user)");
               }
               auto nat = ctx.nat;
               auto done = co_await nat->down();
               if (!done) {
                 const bool in_use = done.error().find("in use by") != std::string::npos;
                 co_return error_response(in_use ? 409 : 500, in_use ? "Conflict" : "Failed",
                                          done.error());
               }
               co_return json_response(json::serialize(network_json(ctx.nat.get())));
             });
}

}  // namespace qmd::daemon::api
