#include <doctest/doctest.h>

#include "devices/pci.hpp"

using namespace qmd::devices;

TEST_CASE("no devices, no root ports") {
  PciTopology q35(true);
  CHECK(root_port_options(q35).empty());
  PciTopology pc(false);
  CHECK(root_port_options(pc).empty());
}

TEST_CASE("q35: one root port per device, eight functions per slot") {
  PciTopology t(true);
  std::vector<PciSlot> slots;
  for (int i = 0; i < 9; ++i) {
    slots.push_back(t.allocate());
  }
  CHECK(slots.front() == PciSlot{"pci.1", "0x0"});
  CHECK(slots.back() == PciSlot{"pci.9", "0x0"});
  const auto spare = t.add_spare(1);
  CHECK(spare == std::vector<PciSlot>{{"pci.10", "0x0"}});
  const auto options = root_port_options(t);
  REQUIRE(options.size() == 10);
  CHECK(options[0] == Option{"-device",
                             "pcie-root-port,id=pci.1,chassis=1,port=0x10,"
                             "bus=pcie.0,multifunction=on,addr=0x2"});
  CHECK(options[1] == Option{"-device",
                             "pcie-root-port,id=pci.2,chassis=2,port=0x11,"
                             "bus=pcie.0,addr=0x2.0x1"});
  CHECK(options[7] == Option{"-device",
                             "pcie-root-port,id=pci.8,chassis=8,port=0x17,"
                             "bus=pcie.0,addr=0x2.0x7"});
  CHECK(options[8] == Option{"-device",
                             "pcie-root-port,id=pci.9,chassis=9,port=0x18,"
                             "bus=pcie.0,multifunction=on,addr=0x3"});
  CHECK(options[9] == Option{"-device",
                             "pcie-root-port,id=pci.10,chassis=10,port=0x19,"
                             "bus=pcie.0,addr=0x3.0x1"});
}

TEST_CASE("pc: devices straight on pci.0 from slot 3") {
  PciTopology t(false);
  CHECK(t.allocate() == PciSlot{"pci.0", "0x3"});
  CHECK(t.allocate() == PciSlot{"pci.0", "0x4"});
  CHECK(t.add_spare(2) == std::vector<PciSlot>{{"pci.0", "0x5"}, {"pci.0", "0x6"}});
  CHECK(root_port_options(t).empty());
}
