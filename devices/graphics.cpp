#include "devices/graphics.hpp"

#include "devices/props.hpp"

namespace qmd::devices {

std::vector<Option> graphics_options(bool q35, const std::string& vnc_socket) {
  const Component vga{"VGA",
                      {{"id", std::string("video0")},
                       {"bus", std::string(q35 ? "pcie.0" : "pci.0")},
                       {"addr", std::string(q35 ? "0x1" : "0x2")}}};
  // A Unix socket path cannot hold a comma here: VNC's option parser has no escaping.
  return {device_option(vga), {"-vnc", "unix:" + vnc_socket}};
}

}  // namespace qmd::devices
