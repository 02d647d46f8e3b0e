#pragma once
// A new definition against the NICs attached at run time. A definition's interface of the
// same name stands for a hot NIC at the next adoption (hot_nic_record.hpp); with another
// binding it would stand for a NIC it is not, and the running tap would lose its NAT guard
// and lease. Such an update waits until the NIC is detached or the run ends.
#include <optional>
#include <string>
#include <vector>

#include "daemon/runtime/hot_nic_record.hpp"
#include "policy/spec.hpp"

namespace qmd::daemon {

// What is wrong (naming VM `vm`, the interface, both bindings and what to do), if anything.
std::optional<std::string> hot_nic_clash(const std::string& vm, const std::vector<HotNic>& hot,
                                         const policy::VmSpec& definition);

}  // namespace qmd::daemon
