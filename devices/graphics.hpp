#pragma once
// The video device and a VNC server on a Unix socket (never TCP: access goes through qmd).
#include <string>
#include <string_view>
#include <vector>

#include "devices/fragment.hpp"

namespace qmd::devices {

// `video_type` is KubeVirt's devices.video.type: vga (VGA, the default), virtio (virtio-vga),
// bochs (bochs-display) or ramfb. A PCI one sits at pcie.0 slot 0x1 on q35, pci.0 slot 0x2
// on pc (where the i440fx firmware expects it); ramfb has no PCI address.
std::vector<Option> graphics_options(bool q35, const std::string& vnc_socket,
                                     std::string_view video_type = "vga");

}  // namespace qmd::devices
