#include "daemon/migration/source_handover.hpp"

#include <fmt/format.h>

namespace qmd::daemon::migration {

namespace asio = boost::asio;

asio::awaitable<std::string> destination_lost(DestinationQmd& destination, std::string name) {
  auto there = co_await destination.status(std::move(name));
  if (there || there.error().kind == PeerFailure::Kind::malformed) {
    co_return std::string();  // it answered 200: it holds the VM
  }
  if (there.error().kind == PeerFailure::Kind::unreachable) {
    co_return "the destination qmd stopped answering: " + there.error().message;
  }
  co_return "the destination dropped the VM: " + there.error().message;
}

asio::awaitable<std::string> not_ready_for_switchover(DestinationQmd& destination,
                                                      std::string name) {
  auto there = co_await destination.status(std::move(name));
  if (!there) {
    co_return there.error().message;
  }
  if (there->status != "active") {
    co_return fmt::format("its QEMU is {}, not loading", there->status);
  }
  co_return std::string();
}

asio::awaitable<std::expected<void, std::string>> take_at_switch(DestinationQmd& destination,
                                                                 std::string name, bool resume) {
  const CommitRequest request{resume};
  auto taken = co_await destination.commit(std::move(name), request);
  if (!taken) {
    co_return std::unexpected(taken.error().message);
  }
  co_return std::expected<void, std::string>{};
}

asio::awaitable<HandoverResult> hand_over(DestinationQmd& destination, std::string name,
                                          bool resume, bool postcopy_switched) {
  const CommitRequest request{resume};
  auto committed = co_await destination.commit(name, request);
  if (committed) {
    co_return HandoverResult{};
  }
  // Did the hand-over happen and only the answer got lost (or, in postcopy, did the try at
  // the switch take after all)? Running the guest in two places is the one thing worse than
  // a failed migration, so ask before resuming here.
  auto state = co_await destination.vm_state(std::move(name));
  HandoverFacts facts{.commit_answered = committed.error().answered(),
                      .state_answered = state || state.error().answered(),
                      .postcopy_switched = postcopy_switched};
  if (state) {
    facts.state_there = std::move(*state);
  }
  co_return HandoverResult{.outcome = after_commit_refused(facts),
                           .refused = committed.error().message};
}

asio::awaitable<std::string> tell_to_drop(DestinationQmd& destination, std::string name) {
  auto dropped = co_await destination.drop(std::move(name));
  if (dropped || dropped.error().answered()) {
    co_return std::string();
  }
  co_return fmt::format(
      " (the destination could not be told to drop its copy: {}; it drops it "
      "by itself when nothing arrives)",
      dropped.error().message);
}

}  // namespace qmd::daemon::migration
