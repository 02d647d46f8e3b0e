#include "policy/host_units.hpp"

#include <array>
#include <charconv>
#include <utility>

#include <fmt/format.h>

namespace qmd::policy {
namespace {

constexpr std::array<std::pair<std::string_view, std::uint64_t>, 4> kUnits{{
    {"Ti", 1ULL << 40}, {"Gi", 1ULL << 30}, {"Mi", 1ULL << 20}, {"Ki", 1ULL << 10}}};

}  // namespace

std::optional<std::uint64_t> parse_binary_quantity(std::string_view text) {
  std::uint64_t multiplier = 1;
  for (const auto& [suffix, factor] : kUnits) {
    if (text.ends_with(suffix)) {
      text.remove_suffix(suffix.size());
      multiplier = factor;
      break;
    }
  }
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() ||
      value > UINT64_MAX / multiplier) {
    return std::nullopt;
  }
  return value * multiplier;
}

std::string format_binary_quantity(std::uint64_t bytes) {
  for (const auto& [suffix, factor] : kUnits) {
    if (bytes != 0 && bytes % factor == 0) {
      return fmt::format("{}{}", bytes / factor, suffix);
    }
  }
  return std::to_string(bytes);
}

}  // namespace qmd::policy
