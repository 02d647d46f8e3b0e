#include "policy/tsc.hpp"

#include <charconv>
#include <vector>

#include <fmt/format.h>

namespace qmd::policy {
namespace {

constexpr std::uint64_t kTolerancePpm = 250;  // KVM's tsc_tolerance_ppm default

// Splits a QEMU option string at single commas; ",," is an escaped comma inside a value
// (hv-vendor-id), kept as one.
std::vector<std::string_view> options(std::string_view text) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    if (i < text.size() && text[i] == ',' && i + 1 < text.size() && text[i + 1] == ',') {
      ++i;
      continue;
    }
    if (i == text.size() || text[i] == ',') {
      out.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

std::string_view name_of(std::string_view option) { return option.substr(0, option.find('=')); }

bool is_off(std::string_view option) {
  const auto eq = option.find('=');
  if (eq == std::string_view::npos) {
    return option.starts_with('-');
  }
  const auto value = option.substr(eq + 1);
  return value == "off" || value == "false" || value == "no";
}

std::string khz_text(std::uint64_t khz) { return fmt::format("{} kHz", khz); }

}  // namespace

bool cpu_needs_fixed_tsc(std::string_view cpu) {
  const auto opts = options(cpu);
  for (std::size_t i = 1; i < opts.size(); ++i) {  // opts[0] is the model
    std::string_view name = name_of(opts[i]);
    if (name.starts_with('+') || name.starts_with('-')) {
      name.remove_prefix(1);
    }
    if ((name == "invtsc" || name == "hv-frequencies" || name == "hv-reenlightenment") &&
        !is_off(opts[i])) {
      return true;
    }
  }
  return false;
}

std::optional<std::uint64_t> cpu_tsc_frequency(std::string_view cpu) {
  for (const auto opt : options(cpu)) {
    if (name_of(opt) != "tsc-frequency" || opt.size() <= 14) {
      continue;
    }
    const auto value = opt.substr(14);
    std::uint64_t hz = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), hz);
    if (ec != std::errc{} || end != value.data() + value.size() || hz == 0) {
      return std::nullopt;
    }
    return hz;
  }
  return std::nullopt;
}

std::string with_tsc_frequency(std::string_view cpu, std::uint64_t hz) {
  const std::string option = fmt::format("tsc-frequency={}", hz);
  std::string out;
  bool replaced = false;
  for (const auto opt : options(cpu)) {
    if (!out.empty()) {
      out += ',';
    }
    if (name_of(opt) == "tsc-frequency") {
      out += option;
      replaced = true;
    } else {
      out += opt;
    }
  }
  return replaced ? out : out + "," + option;
}

std::optional<std::string> tsc_refusal(std::uint64_t hz, const HostCaps& host) {
  if (host.tsc_scaling) {
    return std::nullopt;
  }
  const std::uint64_t khz = hz / 1000;  // QEMU keeps the frequency in kHz
  if (host.tsc_khz == 0) {
    return fmt::format("the guest's TSC runs at {} and this host's TSC frequency is unknown, "
                       "with no TSC scaling",
                       khz_text(khz));
  }
  const std::uint64_t low = host.tsc_khz * (1'000'000 - kTolerancePpm) / 1'000'000;
  const std::uint64_t high = host.tsc_khz * (1'000'000 + kTolerancePpm) / 1'000'000;
  if (khz < low || khz > high) {
    return fmt::format("the guest's TSC runs at {} and this host's at {}, with no TSC scaling",
                       khz_text(khz), khz_text(host.tsc_khz));
  }
  return std::nullopt;
}

}  // namespace qmd::policy
