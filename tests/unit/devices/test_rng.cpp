#include <doctest/doctest.h>

#include "devices/rng.hpp"

using namespace qmd::devices;

TEST_CASE("rng backend and device") {
  CHECK(object_option(rng_backend()) ==
        Option{"-object", "rng-random,id=objrng0,filename=/dev/urandom"});
  CHECK(device_option(rng_device({"pci.5", "0x0"}, false)) ==
        Option{"-device", "virtio-rng-pci,id=rng0,bus=pci.5,addr=0x0,rng=objrng0"});
}
