#include "daemon/runtime/bridge_attach.hpp"

#include <fmt/format.h>

#include "daemon/network/nat_network.hpp"

namespace qmd::daemon {

asio::awaitable<BridgeAttach> attach_bridge_taps(DaemonContext& ctx, std::string vm,
                                                 std::vector<cmdline::TapPlan> taps) {
  BridgeAttach out;
  for (const auto& plan : taps) {
    if (plan.nat || !ctx.config.managed_bridges.contains(plan.network)) {
      continue;  // the NAT network's, or a host bridge's (no guard: not qmd's bridge)
    }
    const auto found = ctx.bridge_networks.find(plan.network);
    if (found == ctx.bridge_networks.end()) {
      out.error = fmt::format("interface {}: network {} is a bridge qmd makes (qmd.yaml's "
                              "bridges.{}), which only a root qmd can make; map it to an "
                              "existing host bridge instead",
                              plan.interface, plan.network, plan.network);
      co_return out;
    }
    auto network = found->second;
    std::string name = vm;
    std::string interface = plan.interface;
    std::string mac = plan.mac;
    std::string tap = plan.name;
    auto attached = co_await network->attach(name, interface, mac, tap);
    if (!attached) {
      out.error = fmt::format("interface {}: {}", plan.interface, attached.error());
      co_return out;
    }
    out.taps.push_back(plan.name);
  }
  co_return out;
}

asio::awaitable<bool> detach_bridge_tap(DaemonContext& ctx, std::string tap) {
  for (auto& [name, network] : ctx.bridge_networks) {
    if (network->holds(tap)) {
      auto held = network;
      co_await held->detach(tap);
      co_return true;
    }
  }
  co_return false;
}

asio::awaitable<void> forget_bridge_leases(DaemonContext& ctx, std::string vm) {
  for (auto& [name, network] : ctx.bridge_networks) {
    auto held = network;
    co_await held->forget(vm);
  }
}

std::vector<std::string> managed_bridge_names(const DaemonContext& ctx) {
  std::vector<std::string> names;
  if (ctx.nat) {
    names.push_back(ctx.nat->settings().bridge);
  }
  for (const auto& [network, bridge] : ctx.config.managed_bridges) {
    names.push_back(bridge.bridge);
  }
  return names;
}

}  // namespace qmd::daemon
