#include "daemon/runtime/uuid_clash.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace qmd::daemon {

namespace {

bool same_uuid(std::string_view a, std::string_view b) {
  return std::ranges::equal(a, b, [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

}  // namespace

std::optional<std::string> uuid_refusal(std::string_view uuid, std::string_view self,
                                        const std::vector<UuidHeld>& held) {
  if (uuid.empty()) {
    return std::nullopt;
  }
  for (const auto& h : held) {
    if (h.vm != self && same_uuid(h.uuid, uuid)) {
      return fmt::format(
          "domain.firmware.uuid {} is VM {}'s already; two VMs must not share a uuid (qmd "
          "finds each VM's QEMU by it, and guests see it): give this VM another "
          "firmware.uuid, or remove the field to get a new one",
          uuid, h.vm);
    }
  }
  return std::nullopt;
}

}  // namespace qmd::daemon
