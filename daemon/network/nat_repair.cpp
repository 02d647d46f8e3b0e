// NatNetwork::adopted, ::watch, ::repair and ::forget_tap: the rules kept as the attachments
// say. `nft flush ruleset` (and `systemctl reload nftables`, which runs it) takes qmd's
// tables with everything else; until they are back the guards fail open. The watch finds
// that, and a bridge port that is no guest's, and puts things right.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "daemon/host/bridge_port.hpp"
#include "daemon/network/nat_network.hpp"
#include "daemon/network/network_settings.hpp"
#include "daemon/network/nft_tables.hpp"
#include "daemon/async/blocking.hpp"
#include "daemon/launch/child_process.hpp"

namespace qmd::daemon::network {

namespace {

using namespace std::chrono_literals;
constexpr auto kToolTimeout = 10s;
constexpr auto kWatchEvery = 10s;

struct Health {
  bool rules = true;                // both tables, and every attached guest's guard
  std::vector<std::string> strays;  // ports of the bridge that are no attached guest's
};

std::string quoted_set(const std::vector<std::string>& names) {
  std::string out = "{ ";
  for (const auto& name : names) {
    out += fmt::format("{}\"{}\"", out.size() > 2 ? ", " : "", name);
  }
  return out + " }";
}

// Blocking (nft, sysfs): on the pool. Each nft call is bounded by kToolTimeout. `want`: the
// rules per chain the tables hold when whole (rules_added of the rebuild).
Health look(const std::string& bridge, const std::string& table,
            const std::vector<std::string>& taps, const RuleCounts& want,
            const ToolPlaces& places) {
  Health h;
  const auto nft = [&places](std::vector<std::string> argv) {
    return run_to_completion(argv, places.log(), kToolTimeout).has_value();
  };
  RuleCounts have;
  for (const char* family : {"inet", "bridge"}) {
    const auto listed = nft_list_table(family, table, places);
    h.rules = h.rules && listed.has_value();
    for (const auto& [chain, count] : rules_listed(listed.value_or(""))) {
      have[chain] += count;
    }
  }
  h.rules = h.rules && !rules_missing(want, have) &&
            nft({"nft", "list", "set", "bridge", table, "nat_taps"});
  if (h.rules && !taps.empty()) {
    // Fails when any of them is missing from the map.
    h.rules = nft({"nft", "get", "element", "bridge", table, "ports",
                   quoted_set(taps)});
  }
  for (const auto& port : bridge_ports(bridge)) {
    if (std::ranges::find(taps, port) == taps.end()) {
      h.strays.push_back(port);
    }
  }
  return h;
}

}  // namespace

bool nat_taps_set_exists(const ToolPlaces& places, const std::string& table) {
  return run_to_completion({"nft", "list", "set", "bridge", table, "nat_taps"},
                                  places.log(), kToolTimeout)
      .has_value();
}

asio::awaitable<void> NatNetwork::adopted() {
  {
    auto guard = co_await lock_.lock();
    if (up_ && settings_.nat) {  // chain portforwards is in NAT tables only
      std::vector<PortForward> all;
      for (const auto& [vm, list] : forwards_) {
        all.insert(all.end(), list.begin(), list.end());
      }
      boost::json::object batch = port_forwards_replace(all);
      if (auto applied = co_await nft(std::move(batch)); !applied) {
        notice_(fmt::format("{} {}: the port forwards of VMs no longer running could "
                            "not be removed: {}",
                            settings_.label, settings_.bridge, applied.error()));
      }
    }
  }
  watch(kWatchEvery);
}

void NatNetwork::watch(std::chrono::milliseconds every) {
  if (watching_) {
    return;
  }
  watching_ = true;
  auto self = shared_from_this();
  auto loop = [self, every]() -> asio::awaitable<void> {
    asio::steady_timer timer(self->executor_);
    for (;;) {
      timer.expires_after(every);
      co_await timer.async_wait(asio::use_awaitable);
      co_await self->repair();
    }
  };
  asio::co_spawn(executor_, std::move(loop), asio::detached);
}

boost::json::object NatNetwork::rebuild_batch() const {
  // One transaction: the tables afresh with every guard and forward already in them.
  std::vector<boost::json::object> parts{network_tables(tables_plan(settings_))};
  for (const auto& [tap, a] : attached_) {
    parts.push_back(settings_.dhcp ? guard_add({tap, a.mac, a.ipv4, a.ipv6})
                                   : mac_guard_add(kTemplateTable, tap, a.mac));
  }
  if (settings_.nat) {
    std::vector<PortForward> all;
    for (const auto& [vm, list] : forwards_) {
      all.insert(all.end(), list.begin(), list.end());
    }
    parts.push_back(port_forwards_replace(all));
  }
  return joined(std::move(parts));
}

asio::awaitable<void> NatNetwork::repair() {
  auto guard = co_await lock_.lock();
  if (!up_) {
    co_return;
  }
  std::vector<std::string> taps;
  for (const auto& [tap, a] : attached_) {
    taps.push_back(tap);
  }
  boost::json::object batch = rebuild_batch();
  auto job = [bridge = settings_.bridge, table = settings_.table, taps,
              want = rules_added(batch), places = places_] {
    return look(bridge, table, taps, want, places);
  };
  const Health health = co_await run_blocking(pool_, std::move(job));
  if (!health.rules) {
    auto rebuilt = co_await nft(std::move(batch));
    ++repairs_;
    notice_(rebuilt ? fmt::format("{} {}: qmd's nftables rules were gone or altered "
                                  "(a flush of the host's ruleset?); rebuilt them with the "
                                  "guards of {} guest interfaces (repair {})",
                                  settings_.label, settings_.bridge, attached_.size(), repairs_)
                    : fmt::format("{} {}: qmd's nftables rules are gone or altered "
                                  "and could not be rebuilt: {}",
                                  settings_.label, settings_.bridge, rebuilt.error()));
  }
  for (const auto& stray : health.strays) {
    boost::json::object batch = tap_remember(stray);
    auto dropped = co_await nft(std::move(batch));
    if (dropped && strays_.insert(stray).second) {
      notice_(fmt::format("{} {}: port {} is no guest's; its frames are dropped",
                          settings_.label, settings_.bridge, stray));
    }
  }
}

asio::awaitable<void> NatNetwork::forget_tap(std::string tap) {
  auto job = [tap, bridge = settings_.bridge] { return bridge_of(tap) == bridge; };
  const bool still_on = co_await run_blocking(pool_, std::move(job));
  if (still_on) {
    notice_(fmt::format("{} {}: tap {} is still on the bridge after its VM's end "
                        "(held open elsewhere); its frames stay dropped",
                        settings_.label, settings_.bridge, tap));
    co_return;
  }
  strays_.erase(tap);
  boost::json::object batch = tap_forget(tap);
  (void)co_await nft(std::move(batch));
}

}  // namespace qmd::daemon::network
