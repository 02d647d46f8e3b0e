// NatNetwork::adopt and ::down: the network across qmd restarts, and its removal.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <set>

#include "daemon/network/host_setup.hpp"
#include "daemon/network/nat_network.hpp"
#include "daemon/network/nft_rules.hpp"
#include "daemon/async/blocking.hpp"

namespace qmd::daemon::network {

using Result = std::expected<void, std::string>;

namespace {

struct Found {
  bool bridge = false;
  bool inet_table = false;
  bool bridge_table = false;
};

}  // namespace

asio::awaitable<void> NatNetwork::adopt() {
  auto guard = co_await lock_.lock();
  auto look = [bridge = settings_.bridge, places = places_] {
    // A bridge table without set nat_taps is an older qmd's: made again, with it.
    return Found{bridge_exists(bridge), nft_table_exists("inet", places),
                 nft_table_exists("bridge", places) && nat_taps_set_exists(places)};
  };
  const Found found = co_await run_blocking(pool_, std::move(look));
  const bool dnsmasq_adopted = dnsmasq_->adopt();
  if (!found.bridge) {
    // Not up: whatever an interrupted run left goes.
    if (dnsmasq_adopted) {
      co_await dnsmasq_->stop();
    }
    if (found.inet_table || found.bridge_table) {
      auto undo = [bridge = settings_.bridge, places = places_] {
        return tear_down_host(bridge, places);
      };
      (void)co_await run_blocking(pool_, std::move(undo));
      notice_("NAT network: removed qmd's nftables tables an earlier run left without its "
              "bridge");
    }
    co_return;
  }
  (void)co_await load_leases();
  if (!found.inet_table || !found.bridge_table) {
    // The running guests' guards come back as their VMs are adopted (attach).
    boost::json::object batch = nat_tables({settings_.bridge, settings_.cidr});
    if (auto made = co_await nft(std::move(batch)); !made) {
      notice_(fmt::format("NAT network {}: its nftables tables were missing and could not be "
                          "made again: {}",
                          settings_.bridge, made.error()));
    }
  }
  if (!dnsmasq_adopted) {
    if (auto started = co_await dnsmasq_->start(); !started) {
      notice_(fmt::format("NAT network {}: {}", settings_.bridge, started.error()));
    }
  }
  dnsmasq_->supervise();
  up_ = true;
  spdlog::info(fmt::format("NAT network {} ({}) taken over as it was; dnsmasq pid {}{}",
                      settings_.bridge, format_cidr(settings_.cidr), dnsmasq_->pid(),
                      dnsmasq_adopted ? " (adopted)" : " (started)"));
}

asio::awaitable<Result> NatNetwork::down() {
  auto guard = co_await lock_.lock();
  if (!attached_.empty()) {
    std::set<std::string> vms;
    for (const auto& [tap, a] : attached_) {
      vms.insert(a.vm);
    }
    co_return std::unexpected(fmt::format(
        "the NAT network {} is in use by VM {}; stop them first", settings_.bridge,
        fmt::join(vms, ", ")));
  }
  co_await dnsmasq_->stop();
  auto undo = [bridge = settings_.bridge, places = places_] {
    return tear_down_host(bridge, places);
  };
  auto removed = co_await run_blocking(pool_, std::move(undo));
  up_ = false;
  forwards_.clear();
  if (!removed) {
    co_return std::unexpected(fmt::format("NAT network {}: {}", settings_.bridge,
                                          removed.error()));
  }
  spdlog::info(fmt::format("NAT network {} is down", settings_.bridge));
  co_return Result{};
}

}  // namespace qmd::daemon::network
