#include "daemon/network/nat_network.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <fstream>
#include <sstream>

#include "daemon/network/host_setup.hpp"
#include "daemon/network/ipv6_state.hpp"
#include "daemon/network/nft_rules.hpp"
#include "daemon/async/blocking.hpp"
#include "daemon/network/network_settings.hpp"
#include "daemon/network/nft_tables.hpp"
#include "daemon/store/atomic_file.hpp"
#include "daemon/store/dir_fd.hpp"

namespace qmd::daemon::network {

using Result = std::expected<void, std::string>;

NatNetwork::NatNetwork(asio::any_io_executor executor, asio::thread_pool& pool,
                       NatSettings settings, Notice notice)
    : executor_(executor),
      pool_(pool),
      settings_(std::move(settings)),
      notice_(std::move(notice)),
      places_{settings_.run_dir},
      lock_(executor) {
  dnsmasq_ = std::make_shared<DnsmasqSidecar>(executor_, dnsmasq_files(), notice_);
}

DnsmasqFiles NatNetwork::dnsmasq_files() const {
  return {settings_.run_dir + "/dnsmasq.conf", settings_.run_dir + "/dnsmasq.pid",
          settings_.run_dir + "/dnsmasq.log"};
}

asio::awaitable<Result> NatNetwork::nft(boost::json::object batch) {
  // Every batch here is written for the template table: it goes to this network's own.
  auto job = [batch = in_table(std::move(batch), settings_.table), places = places_] {
    return nft_apply(batch, places);
  };
  auto applied = co_await run_blocking(pool_, std::move(job));
  co_return applied;
}

asio::awaitable<Result> NatNetwork::load_leases() {
  if (leases_loaded_) {
    co_return Result{};
  }
  struct Loaded {
    std::string text;
    std::expected<std::optional<Ipv6Prefix>, std::string> ipv6;
  };
  auto job = [path = leases_path(), ipv6 = settings_.ipv6, state = settings_.state_dir] {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return Loaded{text.str(), resolve_ipv6_prefix(ipv6, state)};  // none yet: no leases
  };
  auto loaded = co_await run_blocking(pool_, std::move(job));
  if (!loaded.ipv6) {
    co_return std::unexpected(fmt::format("{} ({}): {}", settings_.label, settings_.ipv6_key,
                                          loaded.ipv6.error()));
  }
  settings_.ipv6_prefix = *loaded.ipv6;
  leases_ = LeaseTable::parse(loaded.text, settings_.cidr);
  leases_loaded_ = true;
  co_return Result{};
}

std::vector<Lease> NatNetwork::leases_now() const {
  std::vector<Lease> out = leases_.leases();
  for (auto& l : out) {
    l.ipv6 = guest_ipv6(settings_, l.ipv4);
  }
  return out;
}

asio::awaitable<Result> NatNetwork::save_leases() {
  auto job = [state = settings_.state_dir, places = places_, file = leases_path(),
              hosts = hosts_path(), text = leases_.to_text(),
              hosts_text = dhcp_hosts_text(leases_now())]() -> Result {
    if (auto made = make_dir_path(state, 0700, self_owner()); !made) {
      return std::unexpected(made.error());
    }
    if (auto written = write_file_atomic(file, text, 0600); !written) {
      return written;
    }
    if (auto dir = make_run_dir(places); !dir) {
      return dir;
    }
    return write_hosts_file(hosts, hosts_text);
  };
  auto saved = co_await run_blocking(pool_, std::move(job));
  if (saved) {
    dnsmasq_->reload();  // re-reads the hosts file
  }
  co_return saved;
}

HostSetup NatNetwork::host_setup() const {
  HostSetup setup;
  setup.bridge = settings_.bridge;
  setup.cidr = settings_.cidr;
  setup.places = places_;
  setup.dnsmasq = DnsmasqPlan{settings_.bridge,      settings_.cidr,
                              settings_.dns,         dnsmasq_files().pid,
                              hosts_path(),          settings_.run_dir + "/dnsmasq.leases",
                              settings_.ipv6_prefix};
  setup.dnsmasq.ipv6_router = settings_.nat;
  setup.conf_path = dnsmasq_files().conf;
  setup.hosts_text = dhcp_hosts_text(leases_now());
  setup.ipv6 = settings_.ipv6_prefix;
  setup.ipv6_key = settings_.ipv6_key;
  setup.table = settings_.table;
  setup.tables = network_tables(tables_plan(settings_));
  setup.ipv4 = settings_.has_ipv4;
  setup.dnsmasq_files = settings_.dhcp;
  setup.forward = settings_.nat;
  setup.needs_tun = settings_.nat_network;
  setup.cidr_key = settings_.cidr_key;
  setup.bridge_key = settings_.bridge_key;
  setup.mark = settings_.mark;
  return setup;
}

asio::awaitable<Result> NatNetwork::ensure_up() {
  if (auto loaded = co_await load_leases(); !loaded) {
    co_return loaded;
  }
  if (up_) {
    co_return Result{};
  }
  auto job = [setup = host_setup()] { return set_up_host(setup); };
  auto made = co_await run_blocking(pool_, std::move(job));
  if (!made) {
    co_return std::unexpected(fmt::format("{} {} ({}): {}", settings_.label, settings_.bridge,
                                          network_text(settings_), made.error()));
  }
  if (settings_.dhcp) {
    auto started = co_await dnsmasq_->start();
    if (!started) {
      auto undo = [bridge = settings_.bridge, places = places_, table = settings_.table] {
        return tear_down_host(bridge, places, table);
      };
      (void)co_await run_blocking(pool_, std::move(undo));
      co_return std::unexpected(fmt::format("{} {}: {}", settings_.label, settings_.bridge,
                                            started.error()));
    }
    dnsmasq_->supervise();
  }
  up_ = true;
  spdlog::info(fmt::format("{} {} ({}) is up; dnsmasq pid {}", settings_.label, settings_.bridge,
                           network_text(settings_), dnsmasq_->pid()));
  co_return Result{};
}

asio::awaitable<std::expected<std::uint32_t, std::string>> NatNetwork::lease_for(
    std::string vm, std::string interface, std::string mac) {
  if (!settings_.dhcp) {
    co_return std::uint32_t{0};  // qmd hands out no address here: the guard is the MAC's
  }
  const std::string before = leases_.to_text();
  auto lease = leases_.assign(vm, interface, mac, settings_.cidr);
  if (!lease) {
    co_return std::unexpected(lease.error());
  }
  if (leases_.to_text() != before) {
    if (auto saved = co_await save_leases(); !saved) {
      co_return std::unexpected(fmt::format("{} leases: {}", settings_.label, saved.error()));
    }
  }
  co_return lease->ipv4;
}

asio::awaitable<std::expected<NatAttachment, std::string>> NatNetwork::attach(
    std::string vm, std::string interface, std::string mac, std::string tap) {
  auto guard = co_await lock_.lock();
  if (auto up = co_await ensure_up(); !up) {
    co_return std::unexpected(up.error());
  }
  // Another VM's tap of the same name (a hash collision, or a tap binding naming it) must
  // not get this guard, nor lose its own when this start fails.
  if (const auto held = attached_.find(tap); held != attached_.end() &&
                                             (held->second.vm != vm ||
                                              held->second.interface != interface)) {
    co_return std::unexpected(fmt::format("tap {} is VM {}'s (interface {}) on the {} {}",
                                          tap, held->second.vm, held->second.interface,
                                          settings_.label, settings_.bridge));
  }
  const auto canonical = canonical_mac(mac);
  if (!canonical) {
    co_return std::unexpected(fmt::format("interface {}: \"{}\" is not a MAC address", interface,
                                          mac));
  }
  std::string canonical_text = *canonical;
  auto ipv4 = co_await lease_for(vm, interface, canonical_text);
  if (!ipv4) {
    co_return std::unexpected(ipv4.error());
  }
  const auto ipv6 = guest_ipv6(settings_, *ipv4);
  const GuestGuard wanted{tap, *canonical, *ipv4, ipv6};
  boost::json::object batch =
      settings_.dhcp ? guard_add(wanted) : mac_guard_add(kTemplateTable, tap, *canonical);
  auto guarded = co_await nft(std::move(batch));
  if (!guarded) {
    co_return std::unexpected(guarded.error());
  }
  NatAttachment attached{vm, interface, tap, *canonical, *ipv4, ipv6};
  attached_[tap] = attached;
  co_return attached;
}

asio::awaitable<void> NatNetwork::detach(std::string tap) {
  auto guard = co_await lock_.lock();
  if (attached_.erase(tap) == 0 && !up_) {
    co_return;
  }
  boost::json::object batch = guard_remove(tap);
  auto removed = co_await nft(std::move(batch));
  if (!removed) {
    // Part of it is gone already (a flushed table): remove what is left, piece by piece.
    for (auto& step : guard_remove_steps(tap)) {
      boost::json::object one = one_command(std::move(step));
      auto done = co_await nft(std::move(one));
      (void)done;
    }
  }
  co_await forget_tap(tap);
}

asio::awaitable<Result> NatNetwork::set_vm_forwards(std::string vm,
                                                    std::vector<PortForward> forwards) {
  auto guard = co_await lock_.lock();
  auto wanted = forwards_;
  if (forwards.empty()) {
    wanted.erase(vm);
  } else {
    wanted[vm] = std::move(forwards);
  }
  if (wanted == forwards_) {
    co_return Result{};
  }
  if (!up_) {
    if (wanted.contains(vm)) {
      co_return std::unexpected(
          fmt::format("the {} {} is not up for VM {}'s port forwards", settings_.label,
                      settings_.bridge, vm));
    }
    forwards_ = std::move(wanted);
    co_return Result{};
  }
  std::vector<PortForward> all;
  for (const auto& [name, list] : wanted) {
    all.insert(all.end(), list.begin(), list.end());
  }
  boost::json::object batch = port_forwards_replace(all);
  auto applied = co_await nft(std::move(batch));
  if (applied) {
    forwards_ = std::move(wanted);
  }
  co_return applied;
}

asio::awaitable<void> NatNetwork::forget(std::string vm) {
  auto guard = co_await lock_.lock();
  if (!settings_.dhcp) {
    co_return;
  }
  if (auto loaded = co_await load_leases(); !loaded) {
    co_return;
  }
  if (leases_.release(vm)) {
    if (auto saved = co_await save_leases(); !saved) {
      notice_(fmt::format("{} {}: VM {}'s address is not freed: {}", settings_.label,
                          settings_.bridge, vm, saved.error()));
    }
  }
}

asio::awaitable<void> NatNetwork::forget_interface(std::string vm, std::string interface) {
  auto guard = co_await lock_.lock();
  if (!settings_.dhcp) {
    co_return;
  }
  if (auto loaded = co_await load_leases(); !loaded) {
    co_return;
  }
  if (leases_.release(vm, interface)) {
    if (auto saved = co_await save_leases(); !saved) {
      notice_(fmt::format("{} {}: the address of VM {}'s interface {} is not freed: {}",
                          settings_.label, settings_.bridge, vm, interface, saved.error()));
    }
  }
}

NatStatus NatNetwork::status() const {
  NatStatus s{up_, settings_.bridge, settings_.cidr, settings_.ipv6_prefix, dnsmasq_->pid(), {},
              leases_now(), repairs_};
  for (const auto& [tap, a] : attached_) {
    s.attached.push_back(a);
  }
  return s;
}

std::shared_ptr<NatNetwork> nat_network_for(const Config& config, asio::any_io_executor executor,
                                            asio::thread_pool& pool, NatNetwork::Notice notice) {
  if (masquerade_mode(config) != NetworkConfig::Masquerade::nat) {
    return nullptr;
  }
  const auto cidr = parse_cidr(config.network.nat.ipv4);  // checked when the config was read
  NatSettings settings;  // the NAT network: the other members' defaults are its own
  settings.bridge = config.network.nat.bridge;
  settings.table = table_for_bridge(settings.bridge);
  settings.cidr = cidr.value_or(Ipv4Cidr{});
  settings.dns = config.network.nat.dns;
  settings.ipv6 = config.network.nat.ipv6;
  settings.ipv6_prefix = known_ipv6_prefix(settings.ipv6);
  settings.state_dir = config.state_dir + "/network";
  settings.run_dir = config.run_dir + "/network";
  return std::make_shared<NatNetwork>(std::move(executor), pool, std::move(settings),
                                      std::move(notice));
}

std::optional<NatAttachment> NatNetwork::attachment(const std::string& vm,
                                                    const std::string& interface) const {
  for (const auto& [tap, a] : attached_) {
    if (a.vm == vm && a.interface == interface) {
      return a;
    }
  }
  return std::nullopt;
}

}  // namespace qmd::daemon::network
