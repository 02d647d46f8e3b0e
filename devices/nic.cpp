#include "devices/nic.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "devices/naming.hpp"

namespace qmd::devices {

namespace {

std::string nic_driver(const NicParams& p) {
  if (p.model == "virtio") {
    return p.transitional ? "virtio-net-pci-transitional" : "virtio-net-pci";
  }
  return p.model;  // e1000e, e1000: QEMU device names already
}

// The host side: slirp (user), passt's socket (stream) or a tap.
Component nic_backend(const NicParams& p) {
  if (!p.passt_socket.empty()) {
    return {"stream",
            {{"id", netdev_id(p.name)},
             {"server", false},
             {"addr.type", std::string("unix")},
             {"addr.path", p.passt_socket}}};
  }
  Component netdev{p.tap ? "tap" : "user", {{"id", netdev_id(p.name)}}};
  if (!p.tap && p.vm_network) {
    // pod.vmNetworkCIDR: the gateway first and the guest second, as KubeVirt's masquerade
    // gives them, the DNS server third (QEMU's own picks, .2 and .15, may not fit a /29).
    netdev.props.push_back({"net", policy::format_vm_network(*p.vm_network)});
    netdev.props.push_back({"host", policy::format_ipv4(p.vm_network->gateway())});
    netdev.props.push_back({"dns", policy::format_ipv4(p.vm_network->dns())});
    netdev.props.push_back({"dhcpstart", policy::format_ipv4(p.vm_network->guest())});
  }
  if (!p.tap) {
    for (const auto& f : p.forwards) {
      // Every host address, as KubeVirt's slirp forwards the pod's ports.
      netdev.props.push_back({"hostfwd", fmt::format("{}::{}-:{}", f.protocol == "UDP" ? "udp" : "tcp",
                                                     f.host_port, f.guest_port)});
    }
  }
  return netdev;
}

}  // namespace

bool tap_multiqueue(const NicParams& p) {
  return p.tap && p.model == "virtio" && p.queues > 1;
}

NicParts nic_parts(const NicParams& p) {
  const bool virtio = p.model == "virtio";
  const bool multiqueue = tap_multiqueue(p);

  Component netdev = nic_backend(p);
  if (p.tap) {
    netdev.props.push_back({"ifname", p.tap_name});
    // QEMU runs with -sandbox spawn=deny: it must never run the ifup scripts.
    netdev.props.push_back({"script", std::string("no")});
    netdev.props.push_back({"downscript", std::string("no")});
    if (p.vhost && virtio) {
      netdev.props.push_back({"vhost", true});
    }
    if (multiqueue) {
      netdev.props.push_back({"queues", std::int64_t{p.queues}});
    }
  }

  Component device{nic_driver(p),
                   {{"id", nic_id(p.name)},
                    {"bus", p.pci.bus},
                    {"addr", p.pci.addr},
                    {"netdev", netdev_id(p.name)},
                    {"mac", p.mac}}};
  if (multiqueue) {
    device.props.push_back({"mq", true});
    device.props.push_back({"vectors", std::int64_t{2 * p.queues + 2}});
  }
  if (p.boot_order) {
    device.props.push_back({"bootindex", std::int64_t{*p.boot_order}});
  }
  return {std::move(netdev), std::move(device)};
}

Component with_tap_fds(const Component& netdev, const TapFds& fds) {
  const auto join = [](const std::vector<std::string>& items) {
    return fmt::format("{}", fmt::join(items, ":"));
  };
  const bool many = fds.queues.size() > 1;
  Component out{netdev.type, {}};
  for (const auto& prop : netdev.props) {
    if (prop.key == "ifname") {
      out.props.push_back({many ? "fds" : "fd", join(fds.queues)});
    } else if (prop.key == "vhost" && !fds.vhost.empty()) {
      out.props.push_back(prop);
      out.props.push_back({many ? "vhostfds" : "vhostfd", join(fds.vhost)});
    } else if (prop.key != "script" && prop.key != "downscript" && prop.key != "queues") {
      out.props.push_back(prop);
    }
  }
  return out;
}

std::vector<Option> nic_options(const NicParts& parts) {
  return {netdev_option(parts.netdev), device_option(parts.device)};
}

std::vector<QmpCall> nic_hotplug(const NicParts& parts) {
  return {netdev_add(parts.netdev), device_add(parts.device)};
}

QmpCall nic_unplug(const NicParts& parts) { return device_del(parts.device.id()); }

QmpCall nic_release(const NicParts& parts) { return netdev_del(parts.netdev.id()); }

}  // namespace qmd::devices
