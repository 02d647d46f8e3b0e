#pragma once
// A disk: a protocol block node (file-X), a format node on top (fmt-X) and the guest device
// (disk-X). Coldplug renders `-blockdev` JSON twice and `-device`; hotplug sends the same
// JSON to blockdev-add and the same props to device_add.
#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "devices/fragment.hpp"
#include "devices/pci.hpp"
#include "devices/props.hpp"
#include "devices/qmp_call.hpp"

namespace qmd::devices {

// The read-only image under a per-run overlay (containerDisk, ephemeral): its own file and
// format nodes (file-X.b, fmt-X.b), named as the overlay's backing, so QEMU opens nothing by a
// name written in an image header.
struct BackingImage {
  std::string path;
  std::string format = "raw";
  bool host_device = false;
};

struct DiskParams {
  std::string name;
  std::string path;
  std::optional<BackingImage> backing;  // path is then the overlay (qcow2)
  bool host_device = false;    // a block device: driver host_device, else file
  std::string format = "raw";  // raw|qcow2
  bool cdrom = false;
  bool empty = false;          // a cdrom drive with no medium: the device alone, no nodes
  std::string bus = "virtio";  // virtio|sata|scsi|usb
  bool readonly = false;
  std::optional<std::uint32_t> boot_order;
  std::optional<std::string> serial;
  std::optional<std::string> cache;            // none|writethrough|writeback
  std::optional<std::string> io;               // native|threads
  std::optional<std::string> iothread;         // virtio only
  std::optional<std::uint32_t> queues;         // virtio num-queues (blockMultiQueue)
  bool transitional = false;                   // virtio-blk-pci-transitional
  std::optional<std::uint32_t> rotation_rate;  // scsi-hd and ide-hd only (validated)
  // Where the device sits: a PCI slot (virtio), or a controller bus plus unit: "ide.2"
  // (unit unused), "scsi0.0" (unit = lun), "usb.0".
  std::optional<PciSlot> pci;
  std::string controller_bus;
  std::uint32_t unit = 0;
};

struct DiskParts {
  std::vector<boost::json::object> backing_nodes;  // file-X.b, fmt-X.b; empty without backing
  boost::json::object file_node;
  boost::json::object format_node;
  Component device;
};

DiskParts disk_parts(const DiskParams& params);

// -blockdev (backing file, backing format, when any), -blockdev (file), -blockdev (format),
// -device; only -device for an empty drive.
std::vector<Option> disk_options(const DiskParts& parts);
// blockdev-add (file), blockdev-add (format), device_add.
std::vector<QmpCall> disk_hotplug(const DiskParts& parts);
// device_del; the daemon then waits for DEVICE_DELETED before disk_release.
QmpCall disk_unplug(const DiskParts& parts);
// blockdev-del (format), blockdev-del (file).
std::vector<QmpCall> disk_release(const DiskParts& parts);

}  // namespace qmd::devices
