#pragma once
// The i6300esb watchdog and what QEMU does when it fires (-action, QEMU >= 6.0).
#include <string>
#include <vector>

#include "devices/fragment.hpp"
#include "devices/pci.hpp"

namespace qmd::devices {

// `action`: reset|poweroff|shutdown (shutdown asks the guest to shut down, ACPI-style).
std::vector<Option> watchdog_options(const std::string& model, const std::string& action,
                                     const PciSlot& slot);

}  // namespace qmd::devices
