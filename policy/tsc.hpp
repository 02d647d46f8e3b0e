#pragma once
// A guest that reads the TSC frequency once (an invariant TSC, Hyper-V's hv-frequencies and
// hv-reenlightenment) must see the same frequency after a migration: the source pins it with
// `-cpu ...,tsc-frequency=HZ` and a destination has to be able to present exactly that.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "policy/host_caps.hpp"

namespace qmd::policy {

// Whether a -cpu value turns on a feature that fixes the guest's idea of the TSC frequency.
bool cpu_needs_fixed_tsc(std::string_view cpu);

// The tsc-frequency=HZ of a -cpu value; nullopt when absent or not a number.
std::optional<std::uint64_t> cpu_tsc_frequency(std::string_view cpu);

// `cpu` with its tsc-frequency replaced by `hz`, or appended when it has none.
std::string with_tsc_frequency(std::string_view cpu, std::uint64_t hz);

// Why `host` cannot run a guest whose TSC is pinned to `hz`; nullopt when it can. Without TSC
// scaling KVM accepts only a frequency within 250 ppm of its own (its tsc_tolerance_ppm).
std::optional<std::string> tsc_refusal(std::uint64_t hz, const HostCaps& host);

}  // namespace qmd::policy
