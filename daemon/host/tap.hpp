#pragma once
// Host taps for `bridge` bindings. qmd (root) makes a persistent tap owned by the QEMU user,
// joins it to the host bridge and brings it up; QEMU then opens it by name (`ifname=`,
// `script=no`) without any privilege of its own, and never runs an up-script (it runs under
// -sandbox spawn=deny). On stop qmd deletes the tap.
#include <sys/types.h>

#include <expected>
#include <optional>
#include <string>

namespace qmd::daemon {

struct TapSpec {
  std::string name;                 // devices::bridge_tap_name(vm, interface): <= 15 chars
  std::string bridge;               // host bridge to join; empty: none
  bool multiqueue = false;          // IFF_MULTI_QUEUE: must match QEMU's queues>1
  std::optional<uid_t> owner;       // who may open it (the QEMU user)
  std::optional<gid_t> group;
};

// Creates the tap (IFF_TUN_EXCL: an interface of that name in use is an error, never a tap
// shared with whoever holds it; a persistent one an earlier run left, held by no one, is
// removed first), sets owner and group, joins the bridge, sets it up. The error names the
// tap, the step and the bridge.
std::expected<void, std::string> create_tap(const TapSpec& spec);
// Takes the tap off its bridge, then removes it; a missing one is not an error.
std::expected<void, std::string> delete_tap(const std::string& name);

}  // namespace qmd::daemon
