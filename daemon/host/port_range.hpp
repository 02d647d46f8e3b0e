#pragma once
// qmd.yaml's network.ports.range: where a forwarded port goes when its own number is taken.
#include <cstdint>

namespace qmd::daemon {

struct PortRange {
  std::uint16_t low = 0;  // 0: no range
  std::uint16_t high = 0;
  bool operator==(const PortRange&) const = default;
};

}  // namespace qmd::daemon
