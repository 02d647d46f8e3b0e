#include "qmp/guest_panic.hpp"

#include <fmt/format.h>

namespace qmd::qmp {

namespace {

std::optional<std::uint64_t> number(const boost::json::object& object, const char* key) {
  const auto* value = object.if_contains(key);
  if (value == nullptr) {
    return std::nullopt;
  }
  if (value->is_uint64()) {
    return value->as_uint64();
  }
  if (value->is_int64()) {
    return static_cast<std::uint64_t>(value->as_int64());
  }
  return std::nullopt;
}

}  // namespace

GuestPanic parse_guest_panicked(const boost::json::object& data) {
  GuestPanic panic;
  if (const auto* action = data.if_contains("action"); action && action->is_string()) {
    const auto& text = action->as_string();
    if (text == "pause" || text == "poweroff" || text == "run") {
      panic.action = std::string(text);
    }
  }
  const auto* info = data.if_contains("info");
  if (info == nullptr || !info->is_object()) {
    return panic;
  }
  const auto& object = info->as_object();
  const auto* type = object.if_contains("type");
  if (type == nullptr || !type->is_string() || type->as_string() != "hyper-v") {
    return panic;
  }
  std::array<std::uint64_t, 5> args{};
  constexpr std::array<const char*, 5> kKeys{"arg1", "arg2", "arg3", "arg4", "arg5"};
  for (std::size_t i = 0; i < kKeys.size(); ++i) {
    const auto value = number(object, kKeys[i]);
    if (!value) {
      return panic;  // a partial record is no record
    }
    args[i] = *value;
  }
  panic.hyperv = args;
  return panic;
}

std::string describe_crash(const GuestPanic& panic) {
  if (!panic.hyperv) {
    return {};
  }
  const auto& a = *panic.hyperv;
  return fmt::format("Hyper-V bugcheck 0x{:08X} (0x{:016X}, 0x{:016X}, 0x{:016X}, 0x{:016X})",
                     a[0], a[1], a[2], a[3], a[4]);
}

}  // namespace qmd::qmp
