#pragma once
// The source's conversation with the destination while a migration runs, each step a small
// coroutine over DestinationQmd that returns what follow_migration acts on. The decisions in
// them are decisions.hpp's; tests drive them with the fake destination.
#include <boost/asio/awaitable.hpp>
#include <expected>
#include <string>

#include "daemon/migration/decisions.hpp"
#include "daemon/migration/destination_qmd.hpp"

namespace qmd::daemon::migration {

// Every 3 s while QEMU sends: does the destination still hold the VM? Empty when it does,
// else the failure to roll back with (it stopped answering, or dropped the VM).
boost::asio::awaitable<std::string> destination_lost(DestinationQmd& destination, std::string name);

// At pre-switchover (the guest paused here): empty when the destination's QEMU is loading,
// else why the switchover must not happen.
boost::asio::awaitable<std::string> not_ready_for_switchover(DestinationQmd& destination,
                                                             std::string name);

// At the postcopy switch: the destination takes the guest at once; the error says why not
// (the source asks again once every page is there).
boost::asio::awaitable<std::expected<void, std::string>> take_at_switch(DestinationQmd& destination,
                                                                        std::string name,
                                                                        bool resume);

// After the last byte: commit, and when that fails, ask whether the guest runs there anyway
// (the answer may have been lost) before anything resumes here.
struct HandoverResult {
  Handover outcome = Handover::handed_over;
  std::string refused{};  // why commit failed, when it did
};
boost::asio::awaitable<HandoverResult> hand_over(DestinationQmd& destination, std::string name,
                                                 bool resume, bool postcopy_switched);

// Rolling back: the destination drops its copy. Empty when it was told, else a note for the
// failure's message (it drops the copy by itself when nothing arrives).
boost::asio::awaitable<std::string> tell_to_drop(DestinationQmd& destination, std::string name);

}  // namespace qmd::daemon::migration
