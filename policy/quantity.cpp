// Kubernetes resource quantities, as far as VM specs use them: bytes and CPUs.
#include <fmt/format.h>

#include <array>
#include <charconv>
#include <limits>
#include <string_view>

#include "policy/parse.hpp"

namespace qmd::policy {

namespace {

__extension__ using u128 = unsigned __int128;

constexpr std::string_view kBytesForm =
    "use a whole number of bytes or a number with a suffix Ki, Mi, Gi, Ti, Pi, Ei (powers of "
    "1024) or k, M, G, T, P, E (powers of 1000), such as 8Gi, 512Mi or 1.5G";

struct Suffix {
  std::string_view name;
  std::uint64_t multiplier;
};

constexpr std::uint64_t kKi = 1024;
constexpr std::array<Suffix, 12> kSuffixes{{
    {"Ki", kKi},
    {"Mi", kKi * kKi},
    {"Gi", kKi * kKi * kKi},
    {"Ti", kKi * kKi * kKi * kKi},
    {"Pi", kKi * kKi * kKi * kKi * kKi},
    {"Ei", kKi * kKi * kKi * kKi * kKi * kKi},
    {"k", 1000},
    {"M", 1000'000},
    {"G", 1000'000'000},
    {"T", 1000'000'000'000},
    {"P", 1000'000'000'000'000},
    {"E", 1000'000'000'000'000'000},
}};

// "12.34" split into digits; nothing but digits and at most one inner '.'.
struct Decimal {
  std::string_view whole;
  std::string_view fraction;
};

std::optional<Decimal> split_decimal(std::string_view text) {
  const auto dot = text.find('.');
  Decimal d{text.substr(0, dot),
            dot == std::string_view::npos ? std::string_view{} : text.substr(dot + 1)};
  const auto all_digits = [](std::string_view s) {
    return s.find_first_not_of("0123456789") == std::string_view::npos;
  };
  if (d.whole.empty() || !all_digits(d.whole) || !all_digits(d.fraction) ||
      (dot != std::string_view::npos && d.fraction.empty())) {
    return std::nullopt;
  }
  return d;
}

u128 to_number(std::string_view digits) {
  u128 n = 0;
  for (char c : digits) {
    n = n * 10 + static_cast<unsigned>(c - '0');
  }
  return n;
}

}  // namespace

std::expected<std::uint64_t, std::string> parse_bytes(const std::string& quantity) {
  std::string_view number = quantity;
  std::uint64_t multiplier = 1;
  for (const auto& s : kSuffixes) {
    if (number.ends_with(s.name)) {
      number.remove_suffix(s.name.size());
      multiplier = s.multiplier;
      break;
    }
  }
  const auto decimal = split_decimal(number);
  if (!decimal) {
    return std::unexpected(fmt::format("\"{}\" is not a byte quantity: {}", quantity, kBytesForm));
  }
  // Leading zeros and trailing fraction zeros do not change the value; beyond that, 20 whole
  // and 18 fraction digits keep every product below 2^128.
  std::string_view whole = decimal->whole;
  std::string_view fraction = decimal->fraction;
  whole.remove_prefix(std::min(whole.find_first_not_of('0'), whole.size()));
  fraction = fraction.substr(0, fraction.find_last_not_of('0') + 1);
  const std::string too_large =
      fmt::format("\"{}\" is too large: at most {} bytes", quantity,
                  std::numeric_limits<std::uint64_t>::max());
  if (whole.size() > 20) {
    return std::unexpected(too_large);
  }
  if (fraction.size() > 18) {
    return std::unexpected(
        fmt::format("\"{}\" has too many decimal places to be a whole number of bytes", quantity));
  }
  u128 scale = 1;
  for (std::size_t i = 0; i < fraction.size(); ++i) {
    scale *= 10;
  }
  const u128 fraction_bytes = to_number(fraction) * multiplier;
  if (fraction_bytes % scale != 0) {
    return std::unexpected(
        fmt::format("\"{}\" is not a whole number of bytes; {}", quantity, kBytesForm));
  }
  const u128 total = to_number(whole) * multiplier + fraction_bytes / scale;
  if (total > std::numeric_limits<std::uint64_t>::max()) {
    return std::unexpected(too_large);
  }
  return static_cast<std::uint64_t>(total);
}

std::expected<double, std::string> parse_cpu_quantity(const std::string& quantity) {
  std::string_view number = quantity;
  const bool milli = number.ends_with('m');
  if (milli) {
    number.remove_suffix(1);
  }
  const auto decimal = split_decimal(number);
  if (!decimal || decimal->whole.size() > 9 || decimal->fraction.size() > 9) {
    return std::unexpected(fmt::format(
        "\"{}\" is not a CPU quantity: use a number of CPUs such as 2 or 1.5, or millicpus "
        "such as 500m",
        quantity));
  }
  double value = 0;
  std::from_chars(number.data(), number.data() + number.size(), value);
  return milli ? value / 1000.0 : value;
}

}  // namespace qmd::policy
