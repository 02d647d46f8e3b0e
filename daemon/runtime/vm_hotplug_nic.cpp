// NIC hotplug: what an interface attach or detach adds to the shared core (vm_hotplug.cpp) —
// its checks, the bridge tap qmd makes (and deletes), its netdev, and how it appears in the
// stored definition (an interface plus its network).
#include <fmt/format.h>

#include <algorithm>
#include <regex>

#include "cmdline/devices_layout.hpp"
#include "daemon/host/bridge_port.hpp"
#include "daemon/host/tap.hpp"
#include "daemon/network/nat_network.hpp"
#include "daemon/runtime/bridge_attach.hpp"
#include "daemon/runtime/vm_hotplug_core.hpp"
#include "devices/nic.hpp"

namespace qmd::daemon {

using hotplug::bad_request;
using hotplug::conflict;

namespace {

OpResult check_request(const Vm::InterfaceAttach& r) {
  if (!hotplug::valid_name(r.name)) {
    return std::unexpected(bad_request(fmt::format(
        "interface name \"{}\" must be 1-24 lower-case letters, digits and '-'", r.name)));
  }
  if (r.binding != "user" && r.binding != "tap" && r.binding != "bridge" &&
      r.binding != "masquerade") {
    return std::unexpected(bad_request(fmt::format(
        "binding \"{}\": hotplug takes user, masquerade, tap or bridge", r.binding)));
  }
  static const std::regex kMac("[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}");
  if (!r.mac.empty() && !std::regex_match(r.mac, kMac)) {
    return std::unexpected(
        bad_request(fmt::format("mac \"{}\" is not like 52:54:00:12:34:56", r.mac)));
  }
  if (r.binding == "tap" && r.tap_name.empty()) {
    return std::unexpected(bad_request("a tap binding needs tapName (an existing host tap)"));
  }
  return {};
}

// The interface as the definition would hold it: KubeVirt's interface + network pair.
hotplug::DefinitionEdit add_to_definition(const Vm::InterfaceAttach& r, const std::string& mac) {
  return [r, mac](YAML::Node tmpl) {
    YAML::Node iface;
    iface["name"] = r.name;
    iface["macAddress"] = mac;
    YAML::Node network;
    network["name"] = r.name;
    if (r.binding == "user" || r.binding == "masquerade") {
      iface[r.binding] = YAML::Node(YAML::NodeType::Map);
      network["pod"] = YAML::Node(YAML::NodeType::Map);
    } else if (r.binding == "bridge") {
      iface["bridge"] = YAML::Node(YAML::NodeType::Map);
      network["multus"]["networkName"] = r.network;
    } else {
      iface["tap"]["name"] = r.tap_name;
      network["multus"]["networkName"] = r.network.empty() ? r.name : r.network;
    }
    tmpl["domain"]["devices"]["interfaces"].push_back(iface);
    tmpl["networks"].push_back(network);
  };
}

std::optional<policy::InterfaceDevice> in_definition(const policy::VmSpec& spec,
                                                     const std::string& name) {
  for (auto& iface : cmdline::interfaces_to_render(spec)) {
    if (iface.name == name) {
      return iface;
    }
  }
  return std::nullopt;
}

// A new interface's request, and its name free in this run (and, with --persist, in the
// definition).
OpResult check_new_interface(const std::string& vm, const Vm::InterfaceAttach& r,
                             const hotplug::Devices& nics, const policy::VmSpec& spec) {
  if (auto valid = check_request(r); !valid) {
    return valid;
  }
  const bool in_spec = in_definition(spec, r.name).has_value();
  if ((in_spec && !nics.gone.contains(r.name)) || nics.added.contains(r.name)) {
    return std::unexpected(
        conflict(fmt::format("VM {} already has an interface named {}", vm, r.name)));
  }
  if (in_spec && r.persist) {
    return std::unexpected(conflict(fmt::format(
        "interface {} is still in the definition of VM {}; detach it with --persist first",
        r.name, vm)));
  }
  return {};
}

}  // namespace

// The checks (request, name, host side), the NIC's parameters, a masquerade interface's lease
// and guard on the NAT network, then attach_planned; the NAT steps wrap the plan and are
// taken back when the attach does not happen.
asio::awaitable<OpResult> Vm::attach_interface(InterfaceAttach request) {
  if (auto movable = check_migration(VmAction::hotplug, "attach-interface"); !movable) {
    co_return movable;
  }
  auto guard = co_await lock_.lock();
  auto scope = hotplug_scope("attach-interface");
  if (!scope) {
    co_return std::unexpected(scope.error());
  }
  const auto& r = request;
  if (auto valid = check_new_interface(name_, r, scope->state->nics, scope->spec); !valid) {
    co_return valid;
  }
  auto bridge = hotplug_host_checks(r);
  if (!bridge) {
    co_return std::unexpected(bridge.error());
  }
  auto params = co_await nic_params(*scope, request);
  if (!params) {
    co_return std::unexpected(params.error());
  }
  AttachPlan plan = nic_plan(*scope, r, *params, *bridge);
  const bool nat = r.binding == "masquerade";
  // One the definition will not name: the record keeps it while the run lasts.
  const bool recorded = !r.persist && !in_definition(scope->spec, r.name).has_value();
  if (recorded) {  // before the lease: a qmd that dies from here on finds what to free
    record_hot_nic(HotNic{r.name, r.binding, r.binding == "bridge" ? r.network : "",
                          r.binding == "user" ? "" : params->tap_name, params->mac});
  }
  if (nat) {
    // Lease and guard first, as at start: the tap joins the bridge guarded.
    std::string vm = name_;
    std::string iface = r.name;
    std::string mac = params->mac;
    std::string tap = params->tap_name;
    auto joined = co_await ctx_.nat->attach(vm, iface, mac, tap);
    if (!joined) {
      if (recorded) {
        co_await forget_hot_nic(r.name);
      }
      co_return std::unexpected(op_error(
          OpError::Code::failed, fmt::format("interface {}: {}", r.name, joined.error())));
    }
  }
  auto attached = co_await attach_planned(*scope, std::move(plan));
  const bool in = scope->state->nics.added.contains(r.name);
  if (nat && !in) {
    co_await leave_nat(*scope->run, params->tap_name);  // not attached: no lease use, no guard
  }
  if (recorded && !in) {
    co_await forget_hot_nic(r.name);  // and its lease
  }
  co_return attached;
}

// The NIC as coldplug would render it, on the VM's first free PCI slot; its tap is one qmd
// makes for bridge and masquerade bindings, the user's own for tap.
asio::awaitable<std::expected<devices::NicParams, OpError>> Vm::nic_params(HotplugScope& scope,
                                                                          InterfaceAttach r) {
  devices::NicParams params;
  params.name = r.name;
  params.mac = r.mac.empty() ? devices::stable_mac(name_, r.name) : r.mac;
  params.tap = r.binding != "user";
  params.tap_name = r.binding == "bridge" || r.binding == "masquerade"
                        ? devices::bridge_tap_name(name_, r.name)
                        : r.tap_name;
  params.vhost = ctx_.host.vhost_net;  // as coldplug renders it
  auto slot = co_await hotplug::free_pci_slot(*scope.run->qmp, name_, hotplug::is_q35(scope.spec));
  if (!slot) {
    co_return std::unexpected(slot.error());
  }
  params.pci = *slot;
  co_return params;
}

// The attach of `params` for the shared core: the tap qmd makes on `bridge` (and deletes
// again when the attach fails), netdev_add, device_add, the event, the --persist edit.
Vm::AttachPlan Vm::nic_plan(HotplugScope& scope, const InterfaceAttach& r,
                            const devices::NicParams& params, const std::string& bridge) {
  AttachPlan plan;
  plan.kind = hotplug::kNic;
  plan.noun = "interface";
  plan.name = r.name;
  if (r.persist) {
    plan.persist = add_to_definition(r, params.mac);
  }
  const bool nat = r.binding == "masquerade";
  auto parts = devices::nic_parts(params);
  if (r.binding == "bridge" || nat) {
    // qmd makes the tap and QEMU gets its descriptors (getfd, then netdev_add fd=): QEMU
    // opens no tap by name. Teardown deletes it if the VM stops first.
    plan.placed.tap = params.tap_name;
    const bool vhost = parts.netdev.prop("vhost") == "on";
    const devices::TapFds names{{parts.netdev.id() + "-tap"},
                                vhost ? std::vector<std::string>{parts.netdev.id() + "-vhost"}
                                      : std::vector<std::string>{}};
    auto opened = std::make_shared<TapQueues>();  // from prepare_host until getfd sends them
    std::weak_ptr<Run> weak_run = scope.run;
    plan.prepare_host = [weak_run, tap_name = params.tap_name, bridge, nat, vhost,
                         opened]() -> OpResult {
      auto made = create_tap(TapSpec{tap_name, bridge, 1, vhost});
      if (!made) {
        return std::unexpected(op_error(OpError::Code::failed, made.error()));
      }
      *opened = std::move(*made);
      if (auto run = weak_run.lock()) {
        run->network.taps.push_back(tap_name);
        if (nat) {
          run->network.nat_taps.push_back(tap_name);  // its guard goes when the run ends
        }
      }
      return {};
    };
    plan.undo_host = [weak_run, tap_name = params.tap_name, opened] {
      *opened = TapQueues{};  // what was not sent closes; QEMU's went with netdev_del
      (void)delete_tap(tap_name);
      if (auto run = weak_run.lock()) {
        std::erase(run->network.taps, tap_name);
      }
    };
    const auto take = [opened](bool vhost_fd) {
      return [opened, vhost_fd] {
        auto& fds = vhost_fd ? opened->vhost : opened->queues;
        return fds.empty() ? UniqueFd() : std::move(fds.front());
      };
    };
    const auto give = [](const std::string& name) {
      return devices::QmpCall{"getfd", {{"fdname", name}}};
    };
    const auto drop = [](const std::string& name) {
      return devices::QmpCall{"closefd", {{"fdname", name}}};
    };
    plan.steps.push_back({give(names.queues[0]), drop(names.queues[0]), OpError::Code::failed,
                          take(false)});
    for (const auto& name : names.vhost) {
      plan.steps.push_back({give(name), drop(name), OpError::Code::failed, take(true)});
    }
    parts.netdev = devices::with_tap_fds(parts.netdev, names);
  }
  const auto calls = devices::nic_hotplug(parts);  // netdev_add, device_add
  // Whatever QEMU refuses here comes from the request (binding, tap, mac).
  plan.steps.push_back({calls[0], devices::nic_release(parts), OpError::Code::bad_request});
  plan.steps.push_back({calls[1], std::nullopt, OpError::Code::bad_request});
  plan.event = "InterfaceAttached";
  plan.message = fmt::format("interface {} ({}, mac {}) attached on {}", r.name, r.binding,
                             params.mac, params.pci.bus);
  return plan;
}

// The bridge a bridge binding names (not one qmd makes: its guests get a guard at start), a
// tap binding that may not open qmd's own taps, and the NAT network a masquerade interface
// joins: the bridge the tap goes on ("" for user and tap bindings).
std::expected<std::string, OpError> Vm::hotplug_host_checks(const InterfaceAttach& r) const {
  if (r.binding == "bridge") {
    const auto found = ctx_.config.bridges.find(r.network);
    if (r.network.empty() || found == ctx_.config.bridges.end()) {
      return std::unexpected(bad_request(fmt::format(
          "a bridge binding needs a network that qmd.yaml's bridges maps to a host bridge; "
          "\"{}\" is not one",
          r.network)));
    }
    if (ctx_.config.managed_bridges.contains(r.network)) {
      return std::unexpected(bad_request(fmt::format(
          "network {} is a bridge qmd makes, whose guests get a guard at start; hotplug "
          "cannot join it yet: add the interface to the definition and restart the VM",
          r.network)));
    }
    return found->second;
  }
  if (r.binding == "tap") {
    const std::vector<std::string> managed = managed_bridge_names(ctx_);
    if (auto allowed = check_tap_binding(r.name, r.tap_name, managed); !allowed) {
      return std::unexpected(bad_request(allowed.error()));
    }
  }
  if (r.binding != "masquerade") {
    return std::string{};
  }
  if (!ctx_.nat) {
    return std::unexpected(bad_request(fmt::format(
        "interface {}: a masquerade interface joins the NAT network, which this qmd does not "
        "run (network.masquerade: user); attach it with --binding user",
        r.name)));
  }
  return ctx_.nat->settings().bridge;
}

// The tap's guard off the NAT network (the lease stays the VM's).
asio::awaitable<void> Vm::leave_nat(Run& run, std::string tap) {
  std::erase(run.network.nat_taps, tap);
  if (ctx_.nat) {
    co_await ctx_.nat->detach(tap);
  }
}

asio::awaitable<OpResult> Vm::detach_interface(std::string iface, bool persist) {
  if (auto movable = check_migration(VmAction::hotplug, "detach-interface"); !movable) {
    co_return movable;
  }
  auto guard = co_await lock_.lock();
  auto scope = hotplug_scope("detach-interface");
  if (!scope) {
    co_return std::unexpected(scope.error());
  }
  const auto spec_iface = in_definition(scope->spec, iface);
  DetachPlan plan;
  plan.kind = hotplug::kNic;
  plan.noun = "interface";
  plan.name = iface;
  plan.id = devices::nic_id(iface);
  plan.in_spec = spec_iface.has_value();
  const auto& added = scope->state->nics.added;
  if (auto hot = added.find(iface); hot != added.end()) {
    plan.tap = hot->second.tap;
  } else if (spec_iface && (spec_iface->binding == "bridge" ||
                             (spec_iface->binding == "masquerade" && ctx_.nat))) {
    plan.tap = devices::bridge_tap_name(name_, iface);
  }
  plan.persist = [iface](YAML::Node tmpl) {
    hotplug::remove_named(tmpl["domain"]["devices"], "interfaces", iface);
    hotplug::remove_named(tmpl, "networks", iface);
  };
  plan.leftover = "not everything was released";
  co_return co_await detach_planned(*scope, std::move(plan), persist);
}

}  // namespace qmd::daemon
