#include "daemon/api/console_sessions.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

namespace qmd::daemon::api {

ConsoleSessions::Lease::~Lease() {
  if (auto table = table_.lock()) {
    table->erase(vm_);
  }
}

std::expected<std::shared_ptr<ConsoleSessions::Lease>, ConsoleSessions::Holder>
ConsoleSessions::acquire(const std::string& vm, const PeerCred& peer) {
  const auto [it, inserted] =
      table_->try_emplace(vm, Holder{peer, std::chrono::system_clock::now()});
  if (!inserted) {
    return std::unexpected(it->second);
  }
  return std::make_shared<Lease>(table_, vm);
}

std::string console_busy_message(const std::string& vm, const ConsoleSessions::Holder& holder) {
  return fmt::format(
      "the console of VM {} is in use by uid {} (pid {}) since {:%Y-%m-%dT%H:%M:%SZ}; one "
      "session per VM: "
      "detach that one (Ctrl-]) or wait for it to end",
      vm, holder.peer.uid, holder.peer.pid,
      std::chrono::time_point_cast<std::chrono::seconds>(holder.since));
}

}  // namespace qmd::daemon::api
