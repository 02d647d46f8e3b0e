// NatNetwork::adopt and ::down: the network across qmd restarts, and its removal.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <set>

#include "daemon/network/host_setup.hpp"
#include "daemon/network/legacy_tables.hpp"
#include "daemon/network/nat_network.hpp"
#include "daemon/network/nft_rules.hpp"
#include "daemon/async/blocking.hpp"
#include "daemon/network/network_settings.hpp"

namespace qmd::daemon::network {

using Result = std::expected<void, std::string>;

namespace {

struct Found {
  bool bridge = false;
  bool inet_table = false;
  bool bridge_table = false;
};

}  // namespace

bool NatNetwork::ours(const NatSettings& s) {
  return bridge_exists(s.bridge) && (s.mark.empty() || bridge_mark(s.bridge) == s.mark);
}

asio::awaitable<void> NatNetwork::adopt() {
  auto guard = co_await lock_.lock();
  auto look = [settings = settings_, places = places_] {
    // A bridge table without set nat_taps is an older qmd's: made again, with it.
    return Found{ours(settings), nft_table_exists("inet", places, settings.table),
                 nft_table_exists("bridge", places, settings.table) &&
                     nat_taps_set_exists(places, settings.table)};
  };
  const Found found = co_await run_blocking(pool_, std::move(look));
  const bool dnsmasq_adopted = settings_.dhcp && dnsmasq_->adopt();
  if (!found.bridge) {
    // Not up: whatever an interrupted run left goes (never a bridge qmd did not make).
    if (dnsmasq_adopted) {
      co_await dnsmasq_->stop();
    }
    for (auto& step : tables_delete_steps()) {
      if (found.inet_table || found.bridge_table) {
        boost::json::object one = one_command(std::move(step));
        (void)co_await nft(std::move(one));
      }
    }
    if (found.inet_table || found.bridge_table) {
      notice_(fmt::format("{}: removed qmd's nftables tables an earlier run left without its "
                          "bridge",
                          settings_.label));
    }
    co_await clear_legacy_tables();
    co_return;
  }
  (void)co_await load_leases();
  if (!found.inet_table || !found.bridge_table) {
    // The running guests' guards come back as their VMs are adopted (attach).
    boost::json::object batch = network_tables(tables_plan(settings_));
    if (auto made = co_await nft(std::move(batch)); !made) {
      notice_(fmt::format("{} {}: its nftables tables were missing and could not be "
                          "made again: {}",
                          settings_.label, settings_.bridge, made.error()));
    }
  }
  if (settings_.dhcp && !dnsmasq_adopted) {
    if (auto started = co_await dnsmasq_->start(); !started) {
      notice_(fmt::format("{} {}: {}", settings_.label, settings_.bridge, started.error()));
    }
  }
  if (settings_.dhcp) {
    dnsmasq_->supervise();
  }
  co_await clear_legacy_tables();  // after this network's own tables are there
  up_ = true;
  spdlog::info(fmt::format("{} {} ({}) taken over as it was; dnsmasq pid {}{}", settings_.label,
                           settings_.bridge, network_text(settings_), dnsmasq_->pid(),
                           dnsmasq_adopted ? " (adopted)" : " (started)"));
}

asio::awaitable<void> NatNetwork::clear_legacy_tables() {
  if (!settings_.nat_network) {
    co_return;  // only the NAT network ever had them
  }
  auto job = [bridge = settings_.bridge, places = places_] {
    return network::clear_legacy_tables(bridge, places);
  };
  const std::string said = co_await run_blocking(pool_, std::move(job));
  if (!said.empty()) {
    notice_(fmt::format("{} {}: {}", settings_.label, settings_.bridge, said));
  }
}

asio::awaitable<Result> NatNetwork::down() {
  auto guard = co_await lock_.lock();
  if (!attached_.empty()) {
    std::set<std::string> vms;
    for (const auto& [tap, a] : attached_) {
      vms.insert(a.vm);
    }
    co_return std::unexpected(fmt::format(
        "the {} {} is in use by VM {}; stop them first", settings_.label, settings_.bridge,
        fmt::join(vms, ", ")));
  }
  co_await dnsmasq_->stop();
  auto undo = [settings = settings_, places = places_] {
    if (!settings.mark.empty() && bridge_exists(settings.bridge) && !ours(settings)) {
      // Someone else's bridge of that name: qmd's tables go, the bridge stays.
      return tear_down_host("", places, settings.table);
    }
    return tear_down_host(settings.bridge, places, settings.table);
  };
  auto removed = co_await run_blocking(pool_, std::move(undo));
  up_ = false;
  forwards_.clear();
  if (!removed) {
    co_return std::unexpected(fmt::format("{} {}: {}", settings_.label, settings_.bridge,
                                          removed.error()));
  }
  spdlog::info(fmt::format("{} {} is down", settings_.label, settings_.bridge));
  co_return Result{};
}

}  // namespace qmd::daemon::network
