#pragma once
// What QEMU tells about a guest panic (the GUEST_PANICKED event's data): the action QEMU took
// and, from a Hyper-V crash MSR (hv-crash; Windows writes its bugcheck there), the bugcheck
// code and its four parameters. The numbers come from the guest; they are only ever printed
// as hex. Pure.
#include <array>
#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>

namespace qmd::qmp {

struct GuestPanic {
  std::string action;  // pause|poweroff|run (QEMU's -action panic=), or ""
  // Hyper-V: arg1 is the bugcheck code (Windows' stop code), arg2..arg5 its parameters.
  std::optional<std::array<std::uint64_t, 5>> hyperv;
  bool operator==(const GuestPanic&) const = default;
};

GuestPanic parse_guest_panicked(const boost::json::object& data);

// "Hyper-V bugcheck 0x000000D1 (0x0000000000000000, 0x0000000000000002, ...)", or "" when
// the guest left no crash parameters.
std::string describe_crash(const GuestPanic& panic);

}  // namespace qmd::qmp
