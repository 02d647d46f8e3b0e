#include <doctest/doctest.h>

#include "devices/watchdog.hpp"

using namespace qmd::devices;

TEST_CASE("watchdog device and its action") {
  CHECK(watchdog_options("i6300esb", "poweroff", {"pci.5", "0x0"}) ==
        std::vector<Option>{{"-device", "i6300esb,id=watchdog0,bus=pci.5,addr=0x0"},
                            {"-action", "watchdog=poweroff"}});
}
