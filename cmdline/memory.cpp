#include <fmt/format.h>

#include "cmdline/core_configurators.hpp"

namespace qmd::cmdline {

std::string qemu_size(std::uint64_t bytes) {
  constexpr std::uint64_t mib = 1024 * 1024;
  if (bytes % mib == 0) {
    return fmt::format("{}M", bytes / mib);
  }
  return fmt::format("{}", bytes);
}

namespace {
// Where hugetlbfs is mounted for each page size (systemd mounts 2Mi at /dev/hugepages; the
// 1Gi mount is qmd's convention, created by packaging/dev-hugepages1G.mount).
std::string hugetlbfs_mount(std::uint64_t page_size) {
  return page_size >= (1ULL << 30) ? "/dev/hugepages1G" : "/dev/hugepages";
}
}  // namespace

void MemoryConfigurator::configure(const policy::VmSpec& spec, RenderResult& out) const {
  const auto& mem = spec.domain.memory;
  const std::uint64_t guest = mem.guest.value_or(0);
  std::string m = fmt::format("size={}", qemu_size(guest));
  if (mem.max_guest) {
    // virtio-mem plugs memory into the device-memory region above `size`, up to maxmem.
    m += fmt::format(",maxmem={}", qemu_size(*mem.max_guest));
  }
  out.argv.add("-m", m);
  if (mem.hugepages_page_size) {
    // Preallocated so that a VM that starts keeps its pages: no late SIGBUS when the pool runs
    // dry.
    out.argv.add("-object",
                 fmt::format("memory-backend-file,id=pc.ram,size={},mem-path={},prealloc=on",
                             qemu_size(guest), hugetlbfs_mount(*mem.hugepages_page_size)));
  }
  out.argv.add("-overcommit", "mem-lock=off");
}

}  // namespace qmd::cmdline
