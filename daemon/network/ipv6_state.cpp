#include "daemon/network/ipv6_state.hpp"

#include <fmt/format.h>
#include <sys/random.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "daemon/store/atomic_file.hpp"
#include "daemon/store/dir_fd.hpp"

namespace qmd::daemon::network {

std::expected<std::optional<Ipv6Prefix>, std::string> resolve_ipv6_prefix(
    const std::string& configured, const std::string& state_dir) {
  if (configured.empty()) {
    return std::nullopt;
  }
  if (configured != kAutoIpv6) {
    auto prefix = parse_ula_prefix(configured);
    if (!prefix) {
      return std::unexpected(prefix.error());
    }
    return *prefix;
  }
  const std::string path = state_dir + "/ipv6-prefix";
  {
    std::ifstream in(path);
    std::string kept;
    if (in >> kept) {
      if (auto prefix = parse_ula_prefix(kept)) {
        return *prefix;
      }
      // Damaged: a new one (the guests' IPv6 addresses change once).
    }
  }
  std::array<std::uint8_t, 5> global_id{};
  if (::getrandom(global_id.data(), global_id.size(), 0) !=
      static_cast<ssize_t>(global_id.size())) {
    return std::unexpected(fmt::format("ipv6: auto: getrandom: {}", std::strerror(errno)));
  }
  const Ipv6Prefix prefix = ula_prefix_from(global_id);
  if (auto made = make_dir_path(state_dir, 0700, self_owner()); !made) {
    return std::unexpected(fmt::format("ipv6: auto: {}", made.error()));
  }
  if (auto written = write_file_atomic(path, format_prefix(prefix) + "\n", 0600); !written) {
    return std::unexpected(fmt::format("ipv6: auto: {}", written.error()));
  }
  return prefix;
}

}  // namespace qmd::daemon::network
