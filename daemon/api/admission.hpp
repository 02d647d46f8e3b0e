#pragma once
// Connection caps: how many connections one uid, and everyone together, may hold open. Root
// and qmd's own uid ("privileged") may use every slot; other users share the total minus a
// reserve, so members of the API group can never lock root out. Pure: the server counts.
#include <sys/types.h>

#include <cstddef>
#include <map>
#include <optional>
#include <string>

namespace qmd::daemon::api {

struct ConnectionCaps {
  std::size_t max_total = 256;
  std::size_t max_per_user = 32;  // for a uid other than root and qmd's own
  // Slots only root and qmd's own uid may take: max(4, max_total / 8).
  std::size_t reserved() const;
};

struct ConnectionCounts {
  std::size_t total = 0;
  std::map<uid_t, std::size_t> per_uid;
};

// Why a new connection from `uid` may not open, or nullopt when it may.
std::optional<std::string> refuse_connection(const ConnectionCaps& caps,
                                             const ConnectionCounts& open, uid_t uid,
                                             bool privileged);

}  // namespace qmd::daemon::api
