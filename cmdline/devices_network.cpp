// NicsConfigurator: interfaces + their binding -> -netdev backends and guest NICs.
#include <fmt/format.h>

#include <algorithm>

#include "cmdline/device_configurators.hpp"
#include "cmdline/devices_layout.hpp"
#include "cmdline/devices_params.hpp"
#include "devices/naming.hpp"
#include "devices/nic.hpp"
#include "devices/passt.hpp"

namespace qmd::cmdline {

namespace {
// KubeVirt's cap on networkInterfaceMultiqueue: one queue per vCPU, at most 256.
constexpr std::uint32_t kMaxNicQueues = 256;
}  // namespace

devices::NicParams nic_params(const policy::VmSpec& spec, const policy::InterfaceDevice& iface,
                              const devices::PciSlot& slot, const DeviceFacts& facts) {
  const auto& devs = spec.domain.devices;
  devices::NicParams p;
  p.name = iface.name;
  p.model = nic_model(iface);
  p.mac = iface.mac_address.value_or(devices::stable_mac(spec.name, iface.name));
  if (iface.binding == "tap") {
    p.tap = true;
    p.tap_name = iface.tap_name.value_or(devices::bridge_tap_name(spec.name, iface.name));
  } else if (iface.binding == "bridge" || (iface.binding == "masquerade" && facts.masquerade_nat)) {
    // The daemon creates this tap and joins it to the bridge (a host bridge, or its managed
    // NAT bridge for masquerade) before QEMU starts.
    p.tap = true;
    p.tap_name = devices::bridge_tap_name(spec.name, iface.name);
  }
  // user, and masquerade without the NAT network: QEMU's user-mode networking (slirp);
  // masquerade on passt for an unprivileged qmd (see configure).
  p.vhost = facts.vhost_net;
  if (devs.network_interface_multiqueue.value_or(false)) {
    p.queues = std::min(facts.vcpus, kMaxNicQueues);
  }
  p.transitional = devs.use_virtio_transitional.value_or(false);
  p.boot_order = iface.boot_order;
  p.pci = slot;
  return p;
}

namespace {

// pod.vmNetworkCIDR as written on the network `iface` uses; empty when none.
const std::string& vm_network_text(const policy::VmSpec& spec,
                                   const policy::InterfaceDevice& iface) {
  static const std::string none;
  for (const auto& net : spec.networks) {
    if (net.name == iface.name && net.kind == policy::NetworkKind::pod) {
      return net.vm_network_cidr;
    }
  }
  return none;
}

// pod.vmNetworkCIDR of the network `iface` uses (checked when the spec was parsed).
std::optional<policy::VmNetworkCidr> vm_network_of(const policy::VmSpec& spec,
                                                   const policy::InterfaceDevice& iface) {
  const auto& text = vm_network_text(spec, iface);
  if (text.empty()) {
    return std::nullopt;
  }
  auto cidr = policy::parse_vm_network_cidr(text);
  return cidr ? std::optional(*cidr) : std::nullopt;
}

// A tap interface takes its addresses from the network it joins, not from vmNetworkCIDR.
void warn_vm_network_unused(const policy::VmSpec& spec, const policy::InterfaceDevice& iface,
                            RenderResult& out) {
  const auto& text = vm_network_text(spec, iface);
  if (text.empty()) {
    return;
  }
  if (iface.binding == "masquerade") {
    out.warnings.push_back(fmt::format(
        "interface {}: pod.vmNetworkCIDR {} is not applied: the managed NAT network is one "
        "network that all VMs share, and the guest gets its address from qmd.yaml's "
        "network.nat.ipv4",
        iface.name, text));
  } else {
    out.warnings.push_back(fmt::format(
        "interface {}: pod.vmNetworkCIDR {} applies to user-mode and passt interfaces "
        "only; a {} interface takes its addresses from the network it joins",
        iface.name, text, iface.binding));
  }
}

bool uses_passt(const policy::InterfaceDevice& iface, const DeviceFacts& facts) {
  return iface.binding == "passt" || (iface.binding == "masquerade" && facts.passt_for_masquerade);
}

// passt's sidecar for `iface`: it must listen before QEMU starts.
SidecarCommand passt_sidecar(const policy::VmSpec& spec, const policy::InterfaceDevice& iface,
                             const DeviceFacts& facts,
                             const VmPaths& paths, std::vector<policy::PortForward> forwards) {
  devices::PasstParams passt;
  passt.binary = facts.passt;
  passt.socket = paths.passt_socket(iface.name);
  passt.pid_file = paths.passt_pid(iface.name);
  passt.forwards = std::move(forwards);
  passt.vm_network = vm_network_of(spec, iface);
  SidecarCommand sidecar;
  sidecar.name = "passt-" + iface.name;
  sidecar.argv = devices::passt_argv(passt);
  sidecar.ready_socket = passt.socket;
  sidecar.pid_file = passt.pid_file;
  sidecar.own_sandbox = true;
  return sidecar;
}

}  // namespace

void NicsConfigurator::configure(const policy::VmSpec& spec, RenderResult& out) const {
  const auto layout = layout_devices(spec, facts_);
  for (const auto& iface : interfaces_to_render(spec)) {
    auto params = nic_params(spec, iface, layout.nics.at(iface.name), facts_);
    auto forwards = policy::interface_forwards(spec, iface.name, facts_.port_forwards);
    out.forwards.insert(out.forwards.end(), forwards.begin(), forwards.end());
    if (uses_passt(iface, facts_)) {
      params.passt_socket = paths_.passt_socket(iface.name);
      out.sidecars.push_back(passt_sidecar(spec, iface, facts_, paths_, std::move(forwards)));
    } else if (!params.tap) {
      params.forwards = std::move(forwards);
      params.vm_network = vm_network_of(spec, iface);
    } else {
      warn_vm_network_unused(spec, iface, out);
    }
    const auto parts = devices::nic_parts(params);
    out.argv.append(devices::nic_options(parts));
    const bool nat = iface.binding == "masquerade" && facts_.masquerade_nat;
    if (iface.binding != "bridge" && !nat) {
      continue;
    }
    cmdline::TapPlan tap{.name = params.tap_name,
                         .queues = devices::tap_multiqueue(params) ? params.queues : 1,
                         .vhost = parts.netdev.prop("vhost") == "on",
                         .nat = nat,
                         .interface = iface.name,
                         .mac = params.mac,
                         .netdev = parts.netdev};
    for (const auto& net : spec.networks) {
      if (!nat && net.name == iface.name) {
        tap.network = net.multus_network_name;
        out.taps.push_back(tap);
      }
    }
    if (nat) {
      out.taps.push_back(std::move(tap));
    }
  }
}

}  // namespace qmd::cmdline
