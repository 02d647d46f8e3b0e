#pragma once
// Two VMs of one qmd must not share a -uuid: qmd finds a VM's QEMU by it when it adopts
// running VMs, and guests (and the licences bound to them) see it as the machine's identity.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace qmd::daemon {

// A uuid a defined VM holds: its record's (made at define) or its definition's firmware.uuid.
struct UuidHeld {
  std::string vm;
  std::string uuid;
};

// Why `uuid` (compared case-insensitively) may not be VM `self`'s: the VM that holds it, the
// field and what to do. Nothing when no other VM holds it.
std::optional<std::string> uuid_refusal(std::string_view uuid, std::string_view self,
                                        const std::vector<UuidHeld>& held);

}  // namespace qmd::daemon
