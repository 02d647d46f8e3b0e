#include <doctest/doctest.h>

#include "devices/balloon.hpp"

using namespace qmd::devices;

TEST_CASE("balloon with free page reporting") {
  CHECK(device_option(balloon_device({"pci.4", "0x0"}, false)) ==
        Option{"-device",
               "virtio-balloon-pci,id=balloon0,bus=pci.4,addr=0x0,free-page-reporting=on"});
  CHECK(balloon_device({"pci.4", "0x0"}, true).type == "virtio-balloon-pci-transitional");
}
