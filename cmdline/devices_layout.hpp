#pragma once
// Where every device of a spec goes: PCI slots, controller units, iothreads. One pure
// function of spec + facts, computed by each device configurator, so that NICs come first
// (a new disk never renumbers a Windows NIC) and nothing depends on configurator state.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cmdline/device_configurators.hpp"
#include "devices/pci.hpp"
#include "policy/spec.hpp"
#include "policy/validate.hpp"

namespace qmd::cmdline {

struct DeviceLayout {
  explicit DeviceLayout(bool q35) : pci(q35) {}

  devices::PciTopology pci;
  std::optional<devices::PciSlot> usb, virtio_serial, scsi, sata;  // sata: pc only
  std::map<std::string, devices::PciSlot> nics;                    // by interface name
  std::map<std::string, devices::PciSlot> disks;                   // virtio disks by name
  std::map<std::string, std::uint32_t> disk_units;                 // sata port / scsi lun by name
  std::map<std::string, devices::PciSlot> inputs;                  // virtio inputs by name
  std::optional<devices::PciSlot> balloon, rng, watchdog, virtio_mem;
  std::vector<devices::PciSlot> spare;  // for hotplug

  std::vector<std::string> iothreads;                // objects to create, in order
  std::map<std::string, std::string> disk_iothread;  // virtio disk -> iothread id
  std::optional<std::string> scsi_iothread;
};

DeviceLayout layout_devices(const policy::VmSpec& spec, const DeviceFacts& facts);

// Defaults the device configurators rely on, in case apply_defaults left a field unset.
using policy::disk_bus;                                   // virtio / sata (cdrom) / scsi (lun)
std::string input_bus(const policy::InputDevice& input);      // usb
std::string nic_model(const policy::InterfaceDevice& iface);  // virtio
// The interfaces to render: the spec's, or KubeVirt's default pod interface (masquerade,
// named "default") when the spec has no interfaces and networks and autoattach allows it.
std::vector<policy::InterfaceDevice> interfaces_to_render(const policy::VmSpec& spec);
// The inputs to render: the spec's, or a USB tablet "default-0" under autoattachInputDevice.
std::vector<policy::InputDevice> inputs_to_render(const policy::VmSpec& spec);
bool wants_balloon(const policy::VmSpec& spec);
bool wants_virtio_mem(const policy::VmSpec& spec);

}  // namespace qmd::cmdline
