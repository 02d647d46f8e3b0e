#include <doctest/doctest.h>

#include "devices/graphics.hpp"

using namespace qmd::devices;

TEST_CASE("VGA placement per machine family, VNC on a Unix socket") {
  CHECK(graphics_options(true, "/run/vm/vnc.sock") ==
        std::vector<Option>{{"-device", "VGA,id=video0,bus=pcie.0,addr=0x1"},
                            {"-vnc", "unix:/run/vm/vnc.sock"}});
  CHECK(graphics_options(false, "/run/vm/vnc.sock") ==
        std::vector<Option>{{"-device", "VGA,id=video0,bus=pci.0,addr=0x2"},
                            {"-vnc", "unix:/run/vm/vnc.sock"}});
}

TEST_CASE("video types: virtio-vga and bochs-display in the VGA slot, ramfb without one") {
  CHECK(graphics_options(true, "/run/vm/vnc.sock", "vga") ==
        graphics_options(true, "/run/vm/vnc.sock"));
  CHECK(graphics_options(true, "/run/vm/vnc.sock", "virtio") ==
        std::vector<Option>{{"-device", "virtio-vga,id=video0,bus=pcie.0,addr=0x1"},
                            {"-vnc", "unix:/run/vm/vnc.sock"}});
  CHECK(graphics_options(false, "/run/vm/vnc.sock", "bochs") ==
        std::vector<Option>{{"-device", "bochs-display,id=video0,bus=pci.0,addr=0x2"},
                            {"-vnc", "unix:/run/vm/vnc.sock"}});
  CHECK(graphics_options(true, "/run/vm/vnc.sock", "ramfb") ==
        std::vector<Option>{{"-device", "ramfb,id=video0"}, {"-vnc", "unix:/run/vm/vnc.sock"}});
}
