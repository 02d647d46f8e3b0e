#include "devices/memory.hpp"

#include <algorithm>

namespace qmd::devices {

namespace {
constexpr std::uint64_t two_mib = 2ULL << 20;
}  // namespace

VirtioMemParts virtio_mem_parts(const VirtioMemParams& p) {
  Component backend;
  if (p.hugepage_size) {
    // memfd with hugetlb needs no hugetlbfs mount path: the kernel picks the pool.
    backend = {"memory-backend-memfd",
               {{"id", std::string("memvmem0")},
                {"size", static_cast<std::int64_t>(p.size)},
                {"hugetlb", true},
                {"hugetlbsize", static_cast<std::int64_t>(*p.hugepage_size)}}};
  } else {
    backend = {"memory-backend-ram",
               {{"id", std::string("memvmem0")}, {"size", static_cast<std::int64_t>(p.size)}}};
  }
  // The block size cannot be smaller than the backing page size.
  const std::uint64_t block = std::max(two_mib, p.hugepage_size.value_or(two_mib));
  Component device{"virtio-mem-pci",
                   {{"id", std::string("vmem0")},
                    {"bus", p.pci.bus},
                    {"addr", p.pci.addr},
                    {"memdev", std::string("memvmem0")},
                    {"node", std::int64_t{0}},
                    {"block-size", static_cast<std::int64_t>(block)},
                    {"requested-size", std::int64_t{0}}}};
  return {std::move(backend), std::move(device)};
}

std::vector<Option> virtio_mem_options(const VirtioMemParts& parts) {
  return {object_option(parts.backend), device_option(parts.device)};
}

QmpCall virtio_mem_resize(std::uint64_t requested_bytes) {
  boost::json::object args;
  args["path"] = "vmem0";
  args["property"] = "requested-size";
  args["value"] = requested_bytes;
  return {"qom-set", std::move(args)};
}

}  // namespace qmd::devices
