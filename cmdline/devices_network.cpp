// NicsConfigurator: interfaces + their binding -> -netdev backends and guest NICs.
#include "cmdline/device_configurators.hpp"
#include "cmdline/devices_layout.hpp"
#include "cmdline/devices_params.hpp"
#include "devices/naming.hpp"
#include "devices/nic.hpp"

namespace qmd::cmdline {

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
  // user, and masquerade without the NAT network: QEMU's user-mode networking (slirp).
  p.vhost = facts.vhost_net;
  if (devs.network_interface_multiqueue.value_or(false)) {
    p.queues = facts.vcpus;
  }
  p.transitional = devs.use_virtio_transitional.value_or(false);
  p.boot_order = iface.boot_order;
  p.pci = slot;
  return p;
}

void NicsConfigurator::configure(const policy::VmSpec& spec, RenderResult& out) const {
  const auto layout = layout_devices(spec, facts_);
  for (const auto& iface : interfaces_to_render(spec)) {
    const auto params = nic_params(spec, iface, layout.nics.at(iface.name), facts_);
    out.argv.append(devices::nic_options(devices::nic_parts(params)));
    if (iface.binding == "bridge") {
      for (const auto& net : spec.networks) {
        if (net.name == iface.name) {
          out.taps.push_back({params.tap_name, net.multus_network_name,
                              devices::tap_multiqueue(params), false, iface.name, params.mac});
        }
      }
    } else if (iface.binding == "masquerade" && facts_.masquerade_nat) {
      out.taps.push_back(
          {params.tap_name, "", devices::tap_multiqueue(params), true, iface.name, params.mac});
    }
  }
}

}  // namespace qmd::cmdline
