// NICs attached at run time without --persist, across restarts of qmd: the definition does
// not name them, so the VM's record keeps them while the run lasts. A qmd that adopts the
// running QEMU takes each back (its tap, its guard on the NAT network, its place in the
// hotplug state, so that the watch's repair and a later detach know it), once QEMU confirms
// the device is there; what the run ends with, or a QEMU not adopted, frees them.
#include <fmt/format.h>
#include <net/if.h>

#include <algorithm>
#include <set>
#include <utility>

#include "cmdline/devices_layout.hpp"
#include "daemon/host/tap.hpp"
#include "daemon/network/nat_network.hpp"
#include "daemon/runtime/vm_hotplug_core.hpp"

namespace qmd::daemon {

namespace {

constexpr std::size_t kMaxPeripherals = 4096;  // what is read of QEMU's list

// The ids of QEMU's devices that have one (-device id=, device_add id=); nothing when QEMU
// does not answer.
asio::awaitable<std::optional<std::set<std::string>>> device_ids(qmp::QmpClient& qmp) {
  boost::json::object args{{"path", "/machine/peripheral"}};
  auto reply = co_await qmp.execute("qom-list", std::move(args));
  if (!reply || !reply->is_array()) {
    co_return std::nullopt;
  }
  std::set<std::string> ids;
  for (const auto& item : reply->as_array()) {
    const auto* o = item.if_object();
    const auto* name = o != nullptr ? o->if_contains("name") : nullptr;
    if (name != nullptr && name->is_string() && ids.size() < kMaxPeripherals) {
      ids.emplace(name->as_string());
    }
  }
  co_return ids;
}

bool link_exists(const std::string& name) { return ::if_nametoindex(name.c_str()) != 0; }

}  // namespace

bool Vm::names_interface(const std::string& interface) const {
  auto parsed = spec();
  if (!parsed) {
    return false;
  }
  const auto ifaces = cmdline::interfaces_to_render(*parsed);
  return std::ranges::any_of(ifaces, [&](const auto& i) { return i.name == interface; });
}

void Vm::record_hot_nic(HotNic nic) {
  std::erase_if(record_.hot_nics, [&](const HotNic& n) { return n.name == nic.name; });
  record_.hot_nics.push_back(std::move(nic));
  save_record();
}

asio::awaitable<void> Vm::forget_hot_nic(std::string name) {
  const auto it = std::ranges::find(record_.hot_nics, name, &HotNic::name);
  if (it == record_.hot_nics.end()) {
    co_return;
  }
  const HotNic nic = *it;
  record_.hot_nics.erase(it);
  save_record();
  if (nic.binding == "masquerade" && ctx_.nat && !names_interface(nic.name)) {
    std::string vm = name_;
    std::string iface = nic.name;
    co_await ctx_.nat->forget_interface(vm, iface);
  }
}

asio::awaitable<void> Vm::free_hot_nic(HotNic nic, bool earlier_guard) {
  if (hot_nic_mismatch(nic, name_)) {
    co_return;  // not a tap of this VM's: left alone
  }
  if (nic.qmd_tap()) {
    if (auto deleted = delete_tap(nic.tap); !deleted) {
      publish("Error", fmt::format("interface {}: {}", nic.name, deleted.error()));
    }
  }
  if (nic.binding != "masquerade" || !ctx_.nat) {
    co_return;
  }
  // Never a guard of another VM's tap of that name (a hash collision).
  const bool held = ctx_.nat->attachment(name_, nic.name).has_value();
  if (held || (earlier_guard && !ctx_.nat->holds(nic.tap))) {
    std::string tap = nic.tap;
    co_await ctx_.nat->detach(tap);
  }
  if (!names_interface(nic.name)) {
    std::string vm = name_;
    std::string iface = nic.name;
    co_await ctx_.nat->forget_interface(vm, iface);
  }
}

asio::awaitable<void> Vm::end_hot_nics(bool earlier_guards) {
  std::vector<HotNic> nics = std::exchange(record_.hot_nics, {});
  record_.hot_nics_dropped.clear();
  if (nics.empty()) {
    co_return;
  }
  save_record();
  for (auto& nic : nics) {
    co_await free_hot_nic(std::move(nic), earlier_guards);
  }
}

// Each recorded NIC QEMU still has is this run's again; one the definition names now is the
// definition's (readopt_taps took it); one QEMU lacks (qmd stopped between the record and
// device_add, or between DEVICE_DELETED and the record) is freed.
asio::awaitable<void> Vm::readopt_hot_nics(std::shared_ptr<Run> run) {
  for (const auto& why : record_.hot_nics_dropped) {
    publish("Adoption", fmt::format("VM {}: record.json: {}", name_, why));
  }
  record_.hot_nics_dropped.clear();
  const std::vector<HotNic> recorded = std::exchange(record_.hot_nics, {});
  std::optional<std::set<std::string>> present;
  if (!recorded.empty()) {
    auto ids = co_await device_ids(*run->qmp);
    present = std::move(ids);
  }
  for (const auto& nic : recorded) {
    if (auto wrong = hot_nic_mismatch(nic, name_)) {
      publish("Adoption", fmt::format("VM {}: record.json: {}; ignored", name_, *wrong));
    } else if (names_interface(nic.name)) {
      publish("Adoption", fmt::format("VM {}: interface {} was attached at run time and is in "
                                      "the definition now, which stands for it",
                                      name_, nic.name));
    } else if (present && !present->contains(nic.device_id())) {
      publish("Adoption", fmt::format("VM {}: QEMU has no interface {} (qmd stopped while it "
                                      "was attached or detached); its host side is freed",
                                      name_, nic.name));
      boost::json::object args{{"id", nic.netdev_id()}};
      (void)co_await run->qmp->execute("netdev_del", std::move(args));
      co_await free_hot_nic(nic, true);
    } else {
      co_await take_hot_nic(run, nic);
    }
  }
  save_record();
}

// The NIC as its attach left it: its tap the run's (deleted when it ends), its guard and
// lease on the NAT network again, and in the hotplug state for a detach.
asio::awaitable<void> Vm::take_hot_nic(std::shared_ptr<Run> run, HotNic nic) {
  if (nic.qmd_tap() && link_exists(nic.tap)) {
    run->network.taps.push_back(nic.tap);
  }
  if (nic.binding == "masquerade" && !ctx_.nat) {
    publish("Adoption", fmt::format("VM {}: interface {} is on the NAT network, which this "
                                    "qmd does not run (network.masquerade: user); it has no "
                                    "guard: detach it",
                                    name_, nic.name));
  } else if (nic.binding == "masquerade") {
    std::string vm = name_;
    std::string iface = nic.name;
    std::string mac = nic.mac;
    std::string tap = nic.tap;
    auto joined = co_await ctx_.nat->attach(vm, iface, mac, tap);
    if (joined) {
      run->network.nat_taps.push_back(nic.tap);
    } else {
      publish("Adoption", fmt::format("VM {}: interface {}: {}", name_, nic.name, joined.error()));
    }
  }
  hotplug::Placed placed;
  placed.tap = nic.qmd_tap() ? nic.tap : "";
  hotplug_state(run).nics.added[nic.name] = std::move(placed);
  record_.hot_nics.push_back(std::move(nic));
}

}  // namespace qmd::daemon
