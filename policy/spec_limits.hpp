#pragma once
// Bounds on the shape of a spec, checked around the parse so that one request cannot hold
// a thread (or the heap) for long: how deep its flow collections nest (checked on the text,
// before the YAML parser recurses into it), how many YAML documents and values it holds
// (checked on the parser's events, before any node is built) and how many devices it
// declares.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "policy/spec.hpp"
#include "policy/spec_error.hpp"

namespace qmd::policy {

inline constexpr std::size_t kMaxSpecNesting = 64;
// YAML documents in one text (a spec holds one; stray `---` lines add empty ones).
inline constexpr std::size_t kMaxSpecDocuments = 8;
// Values (keys, scalars, collections) in all documents. yaml-cpp holds about 0.5 KiB per
// value, so this keeps the parse of a 1 MiB spec near 6 MiB; 256 devices with the rest of a
// spec need about 4 300 (the examples: 16 per device, 200 for the rest).
inline constexpr std::size_t kMaxSpecValues = 6000;
// disks + interfaces + inputs + volumes + networks
inline constexpr std::size_t kMaxSpecDevices = 256;

// The first `[` or `{` that opens a flow collection deeper than `max_depth`, or the first
// alias (`*name`), quoted strings and comments skipped, as an error with its line:column;
// nullopt when there is neither.
std::optional<SpecError> check_nesting(std::string_view text, const std::string& file,
                                       std::size_t max_depth = kMaxSpecNesting);

// The first bound the YAML text breaks, from the parser's events (nothing is built): more
// than `max_documents` documents, more than `max_values` values, or a token the parser cannot
// get past (yaml-cpp would start an empty document there again and again without end: a `,`
// outside brackets). nullopt when it keeps within them, or when it is not valid YAML (the
// parse reports that).
std::optional<SpecError> check_yaml_size(const std::string& text, const std::string& file,
                                         std::size_t max_documents = kMaxSpecDocuments,
                                         std::size_t max_values = kMaxSpecValues);

// An error when the spec declares more than `max` devices, naming the counts.
std::optional<SpecError> check_device_count(const VmSpec& spec, const std::string& file,
                                            std::size_t max = kMaxSpecDevices);

}  // namespace qmd::policy
