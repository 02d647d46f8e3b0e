#include "daemon/api/admission.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace qmd::daemon::api {

std::size_t ConnectionCaps::reserved() const {
  return std::min(max_total, std::max<std::size_t>(4, max_total / 8));
}

std::optional<std::string> refuse_connection(const ConnectionCaps& caps,
                                             const ConnectionCounts& open, uid_t uid,
                                             bool privileged) {
  if (open.total >= caps.max_total) {
    return fmt::format("qmd has {} open connections, its limit (api.maxConnections); "
                       "try again when some have closed",
                       open.total);
  }
  if (privileged) {
    return std::nullopt;
  }
  const auto it = open.per_uid.find(uid);
  const std::size_t mine = it == open.per_uid.end() ? 0 : it->second;
  if (mine >= caps.max_per_user) {
    return fmt::format("uid {} has {} open connections to qmd, the most one user may hold "
                       "(api.maxConnectionsPerUser); close some (an idle events --follow?) "
                       "and try again",
                       uid, mine);
  }
  const std::size_t shared = caps.max_total - caps.reserved();
  if (open.total >= shared) {
    return fmt::format("qmd has {} open connections; the last {} of its {} "
                       "(api.maxConnections) are kept for root; try again when some have "
                       "closed",
                       open.total, caps.reserved(), caps.max_total);
  }
  return std::nullopt;
}

}  // namespace qmd::daemon::api
