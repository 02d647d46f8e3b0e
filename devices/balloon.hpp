#pragma once
// The memory balloon; free page reporting hands freed guest pages back to the host.
#include "devices/pci.hpp"
#include "devices/props.hpp"

namespace qmd::devices {

inline Component balloon_device(const PciSlot& slot, bool transitional) {
  return {transitional ? "virtio-balloon-pci-transitional" : "virtio-balloon-pci",
          {{"id", std::string("balloon0")},
           {"bus", slot.bus},
           {"addr", slot.addr},
           {"free-page-reporting", true}}};
}

}  // namespace qmd::devices
