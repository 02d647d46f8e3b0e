#include "devices/controllers.hpp"

#include <fmt/format.h>

namespace qmd::devices {

namespace {
Props placed(const std::string& id, const PciSlot& slot) {
  return {{"id", id}, {"bus", slot.bus}, {"addr", slot.addr}};
}
}  // namespace

Component usb_controller(const PciSlot& slot) { return {"qemu-xhci", placed("usb", slot)}; }

Component virtio_serial_controller(const PciSlot& slot, bool transitional) {
  return {transitional ? "virtio-serial-pci-transitional" : "virtio-serial-pci",
          placed("virtio-serial0", slot)};
}

Component scsi_controller(const PciSlot& slot, const std::optional<std::string>& iothread,
                          bool transitional) {
  Component c{transitional ? "virtio-scsi-pci-transitional" : "virtio-scsi-pci",
              placed("scsi0", slot)};
  if (iothread) {
    c.props.push_back({"iothread", *iothread});
  }
  return c;
}

Component sata_controller(const PciSlot& slot) { return {"ahci", placed("sata0", slot)}; }

std::string sata_bus(bool q35, std::uint32_t unit) {
  return fmt::format("{}.{}", q35 ? "ide" : "sata0", unit);
}

}  // namespace qmd::devices
