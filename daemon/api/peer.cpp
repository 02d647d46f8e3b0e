// Who may use the API: root, qmd's own uid, or a member of the configured group.
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>

#include "daemon/api/http_server.hpp"

namespace qmd::daemon::api {

std::vector<gid_t> groups_from_status(std::string_view status_text) {
  std::vector<gid_t> groups;
  constexpr std::string_view kKey = "Groups:";
  std::size_t at = 0;
  while (at < status_text.size()) {
    const auto end = std::min(status_text.find('\n', at), status_text.size());
    std::string_view line = status_text.substr(at, end - at);
    at = end + 1;
    if (!line.starts_with(kKey)) {
      continue;
    }
    line.remove_prefix(kKey.size());
    while (!line.empty()) {
      const auto start = line.find_first_not_of(" \t");
      if (start == std::string_view::npos) {
        break;
      }
      line.remove_prefix(start);
      gid_t gid = 0;
      const auto [ptr, ec] = std::from_chars(line.data(), line.data() + line.size(), gid);
      if (ec != std::errc{}) {
        break;  // not a number: the rest of the line is not groups
      }
      groups.push_back(gid);
      line.remove_prefix(static_cast<std::size_t>(ptr - line.data()));
    }
    break;
  }
  return groups;
}

bool peer_allowed(const PeerCred& peer, std::optional<gid_t> group, uid_t server_uid,
                  std::span<const gid_t> peer_groups) {
  if (peer.uid == 0 || peer.uid == server_uid) {
    return true;
  }
  if (!group) {
    return false;
  }
  return peer.gid == *group ||
         std::find(peer_groups.begin(), peer_groups.end(), *group) != peer_groups.end();
}

bool peer_allowed(const PeerCred& peer, std::optional<gid_t> group) {
  const uid_t self = geteuid();
  if (peer.uid == 0 || peer.uid == self || !group || peer.gid == *group) {
    return peer_allowed(peer, group, self, {});
  }
  // Supplementary groups are not in SO_PEERCRED; the peer's /proc entry has them. A peer
  // that exited already has no entry and is refused.
  std::ifstream status("/proc/" + std::to_string(peer.pid) + "/status");
  std::stringstream text;
  text << status.rdbuf();
  const auto groups = groups_from_status(text.str());
  return peer_allowed(peer, group, self, groups);
}

}  // namespace qmd::daemon::api
