#pragma once
// virtio-mem: guest memory that can grow up to memory.maxGuest at run time. The device
// starts at requested-size 0; the daemon resizes it with qom-set. The core renders
// `-m SIZE,maxmem=MAX` and NUMA node 0, which virtio-mem plugs into.
#include <cstdint>
#include <optional>
#include <vector>

#include "devices/fragment.hpp"
#include "devices/pci.hpp"
#include "devices/props.hpp"
#include "devices/qmp_call.hpp"

namespace qmd::devices {

struct VirtioMemParams {
  std::uint64_t size = 0;                      // maxGuest - guest, bytes
  std::optional<std::uint64_t> hugepage_size;  // back it with hugetlbfs pages of this size
  PciSlot pci;
  bool transitional = false;
};

struct VirtioMemParts {
  Component backend;  // memvmem0
  Component device;   // vmem0
};

VirtioMemParts virtio_mem_parts(const VirtioMemParams& params);
std::vector<Option> virtio_mem_options(const VirtioMemParts& parts);
// qom-set vmem0 requested-size: how much of the region the guest should have plugged.
QmpCall virtio_mem_resize(std::uint64_t requested_bytes);

}  // namespace qmd::devices
