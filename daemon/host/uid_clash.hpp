#pragma once
// Whether qemuUids may be handed out on this host: not a uid or gid that /etc/passwd,
// /etc/group, /etc/subuid or /etc/subgid names, nor a span the system keeps for itself.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/host/uid_range.hpp"

namespace qmd::daemon {

// One id or span of ids some host file gives to someone.
struct HostIds {
  std::string where;  // "/etc/passwd", "/etc/subuid", ...
  std::string name;   // the user or group
  std::uint64_t first = 0;
  std::uint64_t count = 1;
};

// name:x:ID:... lines (/etc/passwd, /etc/group): the third field. Comments and bad lines
// are skipped.
std::vector<HostIds> parse_id_file(std::string_view text, const std::string& where);
// name:FIRST:COUNT lines (/etc/subuid, /etc/subgid).
std::vector<HostIds> parse_subid_file(std::string_view text, const std::string& where);
// The four files of this host (a missing one names nothing).
std::vector<HostIds> read_host_ids(const std::string& etc = "/etc");

// Why `range` may not be used, naming the clash and what to do; nothing when it may.
std::optional<std::string> uid_range_refusal(const UidRange& range,
                                             const std::vector<HostIds>& host);

}  // namespace qmd::daemon
