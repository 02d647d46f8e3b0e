#pragma once
// A VGA adapter and a VNC server on a Unix socket (never TCP: access goes through qmd).
#include <string>
#include <vector>

#include "devices/fragment.hpp"

namespace qmd::devices {

// q35: VGA at pcie.0 slot 0x1; pc: pci.0 slot 0x2 (where the i440fx firmware expects it).
std::vector<Option> graphics_options(bool q35, const std::string& vnc_socket);

}  // namespace qmd::devices
