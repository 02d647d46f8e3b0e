#pragma once
// Spec disk/interface -> the devices layer's parameters, given a place. Coldplug takes the
// place from DeviceLayout; hotplug (the daemon) passes a spare root port instead, so both
// paths build the device from the same function.
#include <cstdint>
#include <optional>
#include <string>

#include "cmdline/device_configurators.hpp"
#include "devices/disk.hpp"
#include "devices/nic.hpp"
#include "policy/spec.hpp"

namespace qmd::cmdline {

struct DiskPlace {
  std::optional<devices::PciSlot> pci;  // virtio disks
  std::uint32_t unit = 0;               // sata port / scsi lun
  std::optional<std::string> iothread;  // virtio disks
};

// nullopt (with a warning in `out`) when the disk has no volume QEMU can open; images to
// create (DiskOrCreate, emptyDisk) go to out.prepare.
std::optional<devices::DiskParams> disk_params(const policy::VmSpec& spec,
                                               const policy::DiskDevice& disk,
                                               const DiskPlace& place, const DeviceFacts& facts,
                                               const VmPaths& paths, RenderResult& out);

devices::NicParams nic_params(const policy::VmSpec& spec, const policy::InterfaceDevice& iface,
                              const devices::PciSlot& slot, const DeviceFacts& facts);

}  // namespace qmd::cmdline
