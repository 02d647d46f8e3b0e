#pragma once
// Controllers that other devices hang off: the USB host controller (bus usb.0), the
// virtio-serial bus (virtio-serial0.0, for the guest agent), virtio-scsi (scsi0.0) and, on
// pc only, an AHCI controller (sata0.N; q35 has its own ich9-ahci "ide" bus).
#include <optional>
#include <string>

#include "devices/pci.hpp"
#include "devices/props.hpp"

namespace qmd::devices {

Component usb_controller(const PciSlot& slot);
Component virtio_serial_controller(const PciSlot& slot, bool transitional);
Component scsi_controller(const PciSlot& slot, const std::optional<std::string>& iothread,
                          bool transitional);
Component sata_controller(const PciSlot& slot);

// The bus a disk on `unit` of each controller plugs into.
std::string sata_bus(bool q35, std::uint32_t unit);  // "ide.2" (q35) or "sata0.2" (pc)
inline const std::string scsi_bus = "scsi0.0";
inline const std::string usb_bus = "usb.0";
inline const std::string virtio_serial_bus = "virtio-serial0.0";

}  // namespace qmd::devices
