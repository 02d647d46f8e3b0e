#pragma once
// Host taps for `bridge` bindings and the NAT network. qmd (root) makes the tap, opens each of
// its queues (and /dev/vhost-net once per queue for vhost), joins it to the bridge and brings
// it up; QEMU gets those descriptors (`-netdev tap,fd=`/`fds=`, `vhostfd=`/`vhostfds=`, or
// getfd + netdev_add on hotplug) and opens neither by name, needs no right on /dev/net/tun or
// /dev/vhost-net, and never runs an up-script (it runs under -sandbox spawn=deny). The tap is
// not persistent: it lives while someone holds a queue -- qmd from the moment it is made,
// QEMU once it runs -- and goes with the last one, so a crash leaves no tap behind and no tap
// of qmd's is ever without a holder.
#include <cstdint>
#include <expected>
#include <string>
#include <vector>

#include "base/unique_fd.hpp"

namespace qmd::daemon {

struct TapSpec {
  std::string name;          // devices::bridge_tap_name(vm, interface): <= 15 chars
  std::string bridge;        // bridge to join; empty: none
  std::uint32_t queues = 1;  // > 1: IFF_MULTI_QUEUE, one descriptor per queue
  bool vhost = false;        // one /dev/vhost-net descriptor per queue as well
};

// What create_tap opened, for QEMU: while one of them is open, the tap is there.
struct TapQueues {
  std::vector<UniqueFd> queues;
  std::vector<UniqueFd> vhost;  // empty without vhost
};

// Creates the tap (IFF_TUN_EXCL: an interface of that name in use is an error, never a tap
// shared with whoever holds it; a persistent one no one holds -- left by an older qmd -- is
// removed first), opens its queues, joins the bridge, sets it up. The error names the tap,
// the step and the bridge; on an error nothing is left.
std::expected<TapQueues, std::string> create_tap(const TapSpec& spec);
// Takes the tap off its bridge; it goes with the last descriptor of it (QEMU's). A persistent
// one (an older qmd's) is made non-persistent. A missing one is not an error.
std::expected<void, std::string> delete_tap(const std::string& name);

}  // namespace qmd::daemon
