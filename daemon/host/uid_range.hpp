#pragma once
// qmd.yaml's qemuUids: the uids (and, with the same numbers, gids) a root qmd hands out, one
// per VM, for its QEMU and sidecars. The default lies in a span systemd leaves unused
// (1879048192–2147352575, between nspawn's container ranges and its foreign-uid range), above
// every login, DynamicUser and subordinate range a host usually has.
#include <cstdint>

namespace qmd::daemon {

struct UidRange {
  std::uint32_t first = 1879048192;  // 0x70000000
  std::uint32_t count = 65536;
  std::uint64_t end() const { return std::uint64_t{first} + count; }  // one past the last
  bool contains(std::uint64_t id) const { return id >= first && id < end(); }
  bool operator==(const UidRange&) const = default;
};

}  // namespace qmd::daemon
