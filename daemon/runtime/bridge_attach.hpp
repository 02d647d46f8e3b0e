#pragma once
// A VM's taps on the bridges qmd makes for multus networks (bridges: NAME: {bridge: ...}):
// each network up before the first VM that needs it, each tap's lease (with DHCP) and guard
// in before the tap joins the bridge, and out again when the VM stops.
#include <boost/asio/awaitable.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cmdline/render.hpp"
#include "daemon/runtime/context.hpp"

namespace qmd::daemon {

struct BridgeAttach {
  std::vector<std::string> taps;     // attached, also when a later one failed
  std::optional<std::string> error;  // the first failure, naming the interface
};

asio::awaitable<BridgeAttach> attach_bridge_taps(DaemonContext& ctx, std::string vm,
                                                 std::vector<cmdline::TapPlan> taps);
// The guard of `tap` out of the bridge network that holds it; false when none does.
asio::awaitable<bool> detach_bridge_tap(DaemonContext& ctx, std::string tap);
// Every bridge qmd manages (the NAT network's and each it makes): no tap binding may open a
// port of one.
std::vector<std::string> managed_bridge_names(const DaemonContext& ctx);
// The VM is deleted: its addresses on every bridge network are free again.
asio::awaitable<void> forget_bridge_leases(DaemonContext& ctx, std::string vm);

}  // namespace qmd::daemon
