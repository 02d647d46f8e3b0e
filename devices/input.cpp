#include "devices/input.hpp"

#include "devices/controllers.hpp"
#include "devices/naming.hpp"

namespace qmd::devices {

Component input_device(const InputParams& p) {
  const bool tablet = p.type == "tablet";
  if (p.bus == "virtio") {
    Component c{tablet ? "virtio-tablet-pci" : "virtio-keyboard-pci", {{"id", input_id(p.name)}}};
    if (p.pci) {
      c.props.push_back({"bus", p.pci->bus});
      c.props.push_back({"addr", p.pci->addr});
    }
    return c;
  }
  return {tablet ? "usb-tablet" : "usb-kbd", {{"id", input_id(p.name)}, {"bus", usb_bus}}};
}

}  // namespace qmd::devices
