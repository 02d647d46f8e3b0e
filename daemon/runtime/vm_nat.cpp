// A VM on the managed NAT network: the lease and guard of each masquerade tap before the tap
// joins the bridge, their end with the run, and a QEMU adopted after a restart of qmd.
#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>

#include "daemon/host/bridge_port.hpp"
#include "daemon/host/port_hold.hpp"
#include "daemon/network/nat_network.hpp"
#include "daemon/async/blocking.hpp"
#include "daemon/runtime/bridge_attach.hpp"
#include "daemon/runtime/vm.hpp"
#include "devices/naming.hpp"

namespace qmd::daemon {

namespace {

// A masquerade interface on the NAT network whose pod network names a vmNetworkCIDR: one
// network all VMs share cannot take a CIDR per VM, so the VM runs on the network's own.
std::optional<std::string> unapplied_vm_network(const policy::VmSpec& spec, const std::string& vm,
                                                const std::string& interface) {
  for (const auto& net : spec.networks) {
    if (net.name == interface && !net.vm_network_cidr.empty()) {
      return fmt::format(
          "VM {}: interface {}: networks[].pod.vmNetworkCIDR {} is not applied on the managed "
          "NAT network, which all VMs share; the guest gets its address from qmd.yaml's "
          "network.nat.ipv4",
          vm, interface, net.vm_network_cidr);
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> Vm::check_tap_bindings() const {
  auto parsed = spec();
  if (!parsed) {
    return std::nullopt;  // the start reports it
  }
  const std::vector<std::string> managed = managed_bridge_names(ctx_);
  for (const auto& iface : parsed->domain.devices.interfaces) {
    // Without a name the tap is this interface's own (bridge_tap_name of this VM).
    if (iface.binding != "tap" || !iface.tap_name ||
        *iface.tap_name == devices::bridge_tap_name(name_, iface.name)) {
      continue;
    }
    auto allowed = check_tap_binding(iface.name, *iface.tap_name, managed);
    if (allowed) {
      continue;
    }
    std::string owner;
    if (ctx_.nat) {
      for (const auto& a : ctx_.nat->status().attached) {
        if (a.tap == *iface.tap_name) {
          owner = fmt::format(" (it is VM {}'s, interface {})", a.vm, a.interface);
        }
      }
    }
    return fmt::format("VM {}: {}{}", name_, allowed.error(), owner);
  }
  return std::nullopt;
}

asio::awaitable<std::optional<std::string>> Vm::attach_nat(
    const cmdline::RenderResult& rendered) {
  if (auto refused = check_tap_bindings()) {
    co_return refused;
  }
  for (const auto& plan : rendered.taps) {
    if (!plan.nat) {
      continue;
    }
    if (!ctx_.nat) {
      co_return fmt::format("interface {} is masquerade on the NAT network, which this qmd "
                            "does not run (network.masquerade: user)",
                            plan.interface);
    }
    if (auto parsed = spec()) {
      if (auto warning = unapplied_vm_network(*parsed, name_, plan.interface)) {
        publish("Warning", *warning);
      }
    }
    std::string vm = name_;
    std::string interface = plan.interface;
    std::string mac = plan.mac;
    std::string tap = plan.name;
    auto attached = co_await ctx_.nat->attach(vm, interface, mac, tap);
    if (!attached) {
      co_return fmt::format("interface {}: {}", plan.interface, attached.error());
    }
    run_->network.nat_taps.push_back(plan.name);
  }
  // Taps on bridges qmd makes for multus networks: their guards too (recorded with the NAT
  // taps: detach_nat finds the network that holds each).
  auto bridged = co_await attach_bridge_taps(ctx_, name_, rendered.taps);
  run_->network.nat_taps.insert(run_->network.nat_taps.end(), bridged.taps.begin(),
                                bridged.taps.end());
  if (bridged.error) {
    co_return bridged.error;
  }
  auto forwarded = co_await forward_nat_ports(rendered);
  co_return forwarded;
}

// interfaces[].ports of NAT interfaces: DNAT from the host port the run holds to the guest's
// stable address (user-mode and passt interfaces forward in QEMU or passt instead).
asio::awaitable<std::optional<std::string>> Vm::forward_nat_ports(
    const cmdline::RenderResult& rendered) {
  if (!ctx_.nat) {
    co_return std::nullopt;
  }
  std::vector<network::PortForward> forwards;
  for (const auto& f : run_->network.forwards) {
    const bool on_nat = std::ranges::any_of(rendered.taps, [&](const cmdline::TapPlan& plan) {
      return plan.nat && plan.interface == f.interface;
    });
    const auto attached = ctx_.nat->attachment(name_, f.interface);
    if (!on_nat || !attached) {
      continue;
    }
    network::PortForward dnat;
    dnat.protocol = f.protocol == "UDP" ? network::PortForward::Protocol::udp
                                        : network::PortForward::Protocol::tcp;
    dnat.host_port = f.host_port;
    dnat.guest_ipv4 = attached->ipv4;
    dnat.guest_port = f.guest_port;
    forwards.push_back(dnat);
  }
  // The host ports are this run's: no host service binds them while the DNAT shadows them.
  if (run_) {
    run_->network.held_ports.clear();
  }
  auto hold = [forwards] {
    std::vector<UniqueFd> held;
    for (const auto& f : forwards) {
      const bool udp = f.protocol == network::PortForward::Protocol::udp;
      auto socket = hold_host_port(udp ? "UDP" : "TCP", f.host_port);
      if (!socket) {
        return std::expected<std::vector<UniqueFd>, std::string>(std::unexpected(socket.error()));
      }
      held.push_back(std::move(*socket));
    }
    return std::expected<std::vector<UniqueFd>, std::string>(std::move(held));
  };
  auto held = co_await run_blocking(ctx_.blocking, std::move(hold));
  if (!held) {
    co_return fmt::format("port forwards on the NAT network: {}; free it, or forward another "
                          "port",
                          held.error());
  }
  if (run_) {
    run_->network.held_ports = std::move(*held);  // a second call for the run holds them afresh
  }
  std::string vm = name_;
  auto set = co_await ctx_.nat->set_vm_forwards(vm, std::move(forwards));
  if (!set) {
    co_return fmt::format("port forwards on the NAT network: {}", set.error());
  }
  co_return std::nullopt;
}

asio::awaitable<void> Vm::detach_nat(Run& run) {
  const std::vector<std::string> taps = std::move(run.network.nat_taps);
  run.network.nat_taps.clear();
  if (ctx_.nat && !taps.empty()) {
    std::string vm = name_;
    std::vector<network::PortForward> none;
    auto cleared = co_await ctx_.nat->set_vm_forwards(vm, std::move(none));
    if (!cleared) {
      publish("Error", fmt::format("the NAT network kept VM {}'s port forwards: {}", name_,
                                   cleared.error()));
    }
  }
  run.network.held_ports.clear();  // after the DNAT went: the host may have its ports back
  for (const auto& tap : taps) {
    std::string name = tap;
    const bool bridged = co_await detach_bridge_tap(ctx_, name);
    if (ctx_.nat && !bridged) {
      co_await ctx_.nat->detach(name);
    }
  }
}

asio::awaitable<void> Vm::readopt_taps(std::shared_ptr<Run> run) {
  auto rendered = render();
  if (!rendered) {
    co_return;  // the definition no longer renders: nothing of it to take over
  }
  for (const auto& plan : rendered->taps) {
    struct stat st {};
    if (::stat(fmt::format("/sys/class/net/{}", plan.name).c_str(), &st) != 0) {
      continue;
    }
    run->network.taps.push_back(plan.name);
  }
  // The guards again (a no-op when they are in place) and the network's own record of them.
  if (auto failed = co_await attach_nat(*rendered)) {
    publish("Adoption", fmt::format("the managed networks: {}", *failed));
  }
}

}  // namespace qmd::daemon
