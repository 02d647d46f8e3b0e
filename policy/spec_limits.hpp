#pragma once
// Bounds on the shape of a spec, checked around the parse so that one request cannot hold
// a thread (or the heap) for long: how deep its flow collections nest (checked on the text,
// before the YAML parser recurses into it) and how many devices it declares.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "policy/spec.hpp"
#include "policy/spec_error.hpp"

namespace qmd::policy {

inline constexpr std::size_t kMaxSpecNesting = 64;
// disks + interfaces + inputs + volumes + networks
inline constexpr std::size_t kMaxSpecDevices = 256;

// The first `[` or `{` that opens a flow collection deeper than `max_depth`, or the first
// alias (`*name`), quoted strings and comments skipped, as an error with its line:column;
// nullopt when there is neither.
std::optional<SpecError> check_nesting(std::string_view text, const std::string& file,
                                       std::size_t max_depth = kMaxSpecNesting);

// An error when the spec declares more than `max` devices, naming the counts.
std::optional<SpecError> check_device_count(const VmSpec& spec, const std::string& file,
                                            std::size_t max = kMaxSpecDevices);

}  // namespace qmd::policy
