#pragma once
// A network interface: the host backend (-netdev user|tap, id net-X) and the guest NIC
// (-device, id nic-X). Hotplug sends the same props to netdev_add and device_add.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "devices/fragment.hpp"
#include "devices/pci.hpp"
#include "devices/props.hpp"
#include "policy/port_forward.hpp"
#include "policy/vm_network_cidr.hpp"
#include "devices/qmp_call.hpp"

namespace qmd::devices {

struct NicParams {
  std::string name;
  std::string model = "virtio";  // virtio|e1000e|e1000
  std::string mac;
  // user: slirp (masquerade too when qmd's NAT network is off: network.masquerade: user).
  // tap: an existing host tap named `tap_name` (the daemon made it, or the user did).
  bool tap = false;
  std::string tap_name;
  // passt: a stream netdev on passt's Unix socket (an unprivileged qmd's masquerade).
  std::string passt_socket;
  // user (slirp) only: hostfwd rules; passt forwards in its own argv.
  std::vector<policy::PortForward> forwards;
  // user (slirp) only: pod.vmNetworkCIDR, the network the gateway, DNS server and guest
  // addresses come from (passt gets it in its own argv).
  std::optional<policy::VmNetworkCidr> vm_network;
  bool vhost = false;        // host has /dev/vhost-net and the model is virtio
  std::uint32_t queues = 1;  // > 1: multiqueue (tap + virtio only)
  bool transitional = false;
  std::optional<std::uint32_t> boot_order;
  PciSlot pci;
};

struct NicParts {
  Component netdev;
  Component device;
};

NicParts nic_parts(const NicParams& params);
// A virtio NIC on a tap with more than one queue: the tap must be IFF_MULTI_QUEUE.
bool tap_multiqueue(const NicParams& params);

// The descriptors qmd opened for a tap netdev, as QEMU refers to them: numbers it inherited
// (coldplug) or names qmd gave them with getfd (hotplug).
struct TapFds {
  std::vector<std::string> queues;  // one per queue of the tap
  std::vector<std::string> vhost;   // one /dev/vhost-net per queue; empty without vhost
};
// The tap netdev `netdev` (nic_parts: opened by name) on descriptors instead: ifname, script,
// downscript and queues give way to fd= (fds= for more than one queue: QEMU counts them) and
// vhostfd= (vhostfds=), so QEMU opens neither the tap nor /dev/vhost-net itself. Other props
// keep their order.
Component with_tap_fds(const Component& netdev, const TapFds& fds);

std::vector<Option> nic_options(const NicParts& parts);   // -netdev, -device
std::vector<QmpCall> nic_hotplug(const NicParts& parts);  // netdev_add, device_add
QmpCall nic_unplug(const NicParts& parts);                // device_del
QmpCall nic_release(const NicParts& parts);               // netdev_del after DEVICE_DELETED

}  // namespace qmd::devices
