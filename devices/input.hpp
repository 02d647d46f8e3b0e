#pragma once
// Pointer and keyboard: USB (on the xhci controller) or virtio (on its own PCI slot).
#include <optional>
#include <string>

#include "devices/pci.hpp"
#include "devices/props.hpp"
#include "devices/qmp_call.hpp"

namespace qmd::devices {

struct InputParams {
  std::string name;
  std::string type = "tablet";  // tablet|keyboard
  std::string bus = "usb";      // usb|virtio
  std::optional<PciSlot> pci;   // virtio only
};

Component input_device(const InputParams& params);

}  // namespace qmd::devices
