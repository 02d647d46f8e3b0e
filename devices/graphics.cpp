#include "devices/graphics.hpp"

#include "devices/props.hpp"

namespace qmd::devices {

namespace {

// libvirt's QEMU devices for KubeVirt's video types; a virtio primary display is virtio-vga,
// which keeps the VGA modes firmware and installers use before a virtio-gpu driver loads.
std::string video_driver(std::string_view type) {
  if (type == "virtio") {
    return "virtio-vga";
  }
  if (type == "bochs") {
    return "bochs-display";
  }
  if (type == "ramfb") {
    return "ramfb";
  }
  return "VGA";
}

}  // namespace

std::vector<Option> graphics_options(bool q35, const std::string& vnc_socket,
                                     std::string_view video_type) {
  Component video{video_driver(video_type), {{"id", std::string("video0")}}};
  if (video.type != "ramfb") {  // ramfb is a system-bus device: no PCI slot
    video.props.push_back({"bus", std::string(q35 ? "pcie.0" : "pci.0")});
    video.props.push_back({"addr", std::string(q35 ? "0x1" : "0x2")});
  }
  // A Unix socket path cannot hold a comma here: VNC's option parser has no escaping.
  return {device_option(video), {"-vnc", "unix:" + vnc_socket}};
}

}  // namespace qmd::devices
