#pragma once
// Byte quantities as people write them in specs and host descriptions: 64Gi, 2Mi, 512Ki.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace qmd::policy {

// "64Gi" -> 68719476736; also Ki, Mi, Ti and plain bytes. nullopt for anything else.
std::optional<std::uint64_t> parse_binary_quantity(std::string_view text);
// The largest binary unit that divides exactly: 2097152 -> "2Mi", 1000 -> "1000".
std::string format_binary_quantity(std::uint64_t bytes);

}  // namespace qmd::policy
