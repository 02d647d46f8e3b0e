#pragma once
// virtio-rng fed from the host's /dev/urandom (never /dev/random: it can block).
#include "devices/pci.hpp"
#include "devices/props.hpp"

namespace qmd::devices {

inline Component rng_backend() {
  return {"rng-random",
          {{"id", std::string("objrng0")}, {"filename", std::string("/dev/urandom")}}};
}

inline Component rng_device(const PciSlot& slot, bool transitional) {
  return {transitional ? "virtio-rng-pci-transitional" : "virtio-rng-pci",
          {{"id", std::string("rng0")},
           {"bus", slot.bus},
           {"addr", slot.addr},
           {"rng", std::string("objrng0")}}};
}

}  // namespace qmd::devices
