#pragma once
// PCI placement. q35: every PCI device gets its own pcie-root-port (pci.N) on pcie.0, eight
// ports per slot from slot 0x2, the device at addr 0x0 behind it; spare ports are added
// last for hotplug. pc (i440fx): devices sit on pci.0 from slot 0x3 (0x1 is the PIIX3,
// 0x2 the VGA). Allocation order alone decides addresses, so callers allocate in a fixed
// order that depends only on the spec.
#include <cstdint>
#include <string>
#include <vector>

#include "devices/props.hpp"

namespace qmd::devices {

struct PciSlot {
  std::string bus;   // "pci.3" (q35 root port) or "pci.0" (pc)
  std::string addr;  // "0x0" behind a root port, "0x5" on pc
  bool operator==(const PciSlot&) const = default;
};

class PciTopology {
 public:
  explicit PciTopology(bool q35) : q35_(q35) {}

  // The next slot for a device; on q35 this adds the root port that serves it.
  PciSlot allocate();
  // `count` empty root ports for hotplug (q35); returns their slots. On pc, the next free
  // addresses on pci.0 (nothing is added to the argv).
  std::vector<PciSlot> add_spare(std::uint32_t count);

  // The pcie-root-port devices, in allocation order (empty on pc).
  const std::vector<Component>& root_ports() const { return root_ports_; }

 private:
  bool q35_;
  std::uint32_t next_ = 0;  // q35: ports allocated so far; pc: slots used beyond 0x3
  std::vector<Component> root_ports_;
};

// The root port devices as -device options.
std::vector<Option> root_port_options(const PciTopology& topology);

}  // namespace qmd::devices
