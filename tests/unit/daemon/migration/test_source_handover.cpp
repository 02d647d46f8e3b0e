// The source's steps that talk to the destination, against the fake destination: the paths
// e2e_migrate.sh reaches by killing the destination qmd, and the hand-over's ways to end.
#include <doctest/doctest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include "daemon/migration/source_handover.hpp"
#include "tests/unit/daemon/migration/fake_destination.hpp"

using namespace qmd::daemon::migration;
using namespace qmd::daemon::migration::testing;
namespace asio = boost::asio;

namespace {

// Runs one step to its end on a fresh loop.
template <typename T>
T run(asio::awaitable<T> step) {
  asio::io_context io;
  auto result = asio::co_spawn(io, std::move(step), asio::use_future);
  io.run();
  return result.get();
}

using Strings = std::vector<std::string>;

}  // namespace

TEST_CASE("alive check: a destination that holds the VM is not lost") {
  FakeDestination b;
  CHECK(run(destination_lost(b, "web")).empty());
  // A 200 the source cannot read still says the VM is there.
  b.status_answers.push_back(std::unexpected(malformed("no \"status\"")));
  CHECK(run(destination_lost(b, "web")).empty());
  CHECK(b.calls == Strings{"status web", "status web"});
}

TEST_CASE("the destination qmd killed mid-way (e2e_migrate): it stopped answering") {
  FakeDestination b;
  b.status_answers.push_back(
      std::unexpected(unreachable("cannot reach qmd at /run/qmd-b/qmd.sock: Connection refused")));
  CHECK(run(destination_lost(b, "web")) ==
        "the destination qmd stopped answering: cannot reach qmd at /run/qmd-b/qmd.sock: "
        "Connection refused");
}

TEST_CASE("the destination dropped the VM (its watch expired, or a person deleted it)") {
  FakeDestination b;
  b.status_answers.push_back(
      std::unexpected(refused(404, "no incoming migration of a VM named web here")));
  CHECK(run(destination_lost(b, "web")) ==
        "the destination dropped the VM: no incoming migration of a VM named web here");
}

TEST_CASE("the switchover waits for a destination whose QEMU is loading") {
  FakeDestination b;
  CHECK(run(not_ready_for_switchover(b, "web")).empty());
  b.status_answers.push_back(IncomingStatus{.name = "web", .status = "gone"});
  CHECK(run(not_ready_for_switchover(b, "web")) == "its QEMU is gone, not loading");
  b.status_answers.push_back(std::unexpected(unreachable("timed out after 10 s")));
  CHECK(run(not_ready_for_switchover(b, "web")) == "timed out after 10 s");
  b.status_answers.push_back(
      std::unexpected(malformed("the destination's status names no "
                                "\"status\"")));
  CHECK(run(not_ready_for_switchover(b, "web")) == "the destination's status names no \"status\"");
}

TEST_CASE("the postcopy switch: the destination takes the guest at once, or later") {
  FakeDestination b;
  CHECK(run(take_at_switch(b, "web", true)));
  b.commit_answers.push_back(
      std::unexpected(refused(409, "VM web: the incoming migration is active, not completed")));
  const auto later = run(take_at_switch(b, "web", false));
  REQUIRE_FALSE(later);
  CHECK(later.error() == "VM web: the incoming migration is active, not completed");
  CHECK(b.calls == Strings{"commit web resume", "commit web paused"});
}

TEST_CASE("hand-over: commit answers 200, nothing else is asked") {
  FakeDestination b;
  const auto done = run(hand_over(b, "web", true, false));
  CHECK(done.outcome == Handover::handed_over);
  CHECK(b.calls == Strings{"commit web resume"});
}

TEST_CASE("hand-over: the answer got lost but the guest runs there: success") {
  FakeDestination b;
  b.commit_answers.push_back(std::unexpected(unreachable("no answer: timed out after 30 s")));
  b.state_answers.push_back(std::string("paused"));  // it arrived paused, as it was here
  const auto done = run(hand_over(b, "web", false, false));
  CHECK(done.outcome == Handover::handed_over);
  CHECK(b.calls == Strings{"commit web paused", "state web"});
}

TEST_CASE("hand-over: the destination refused and does not run it: roll back") {
  FakeDestination b;
  b.commit_answers.push_back(std::unexpected(refused(409, "the incoming migration is failed")));
  b.state_answers.push_back(std::string("migrating"));
  auto done = run(hand_over(b, "web", true, false));
  CHECK(done.outcome == Handover::rolled_back);
  CHECK(done.refused == "the incoming migration is failed");
  // Its VM is gone there (404): the same.
  b.commit_answers.push_back(std::unexpected(unreachable("timed out")));
  b.state_answers.push_back(std::unexpected(refused(404, "no VM named web")));
  done = run(hand_over(b, "web", true, false));
  CHECK(done.outcome == Handover::rolled_back);
}

TEST_CASE("hand-over: nobody answers: paused here, never running twice") {
  FakeDestination b;
  b.commit_answers.push_back(std::unexpected(unreachable("connection reset")));
  b.state_answers.push_back(std::unexpected(unreachable("connection refused")));
  const auto done = run(hand_over(b, "web", true, false));
  CHECK(done.outcome == Handover::paused_unknown);
  CHECK(done.refused == "connection reset");
}

TEST_CASE("hand-over past the postcopy switch: no rollback, split") {
  FakeDestination b;
  b.commit_answers.push_back(std::unexpected(refused(409, "postcopy ended as failed")));
  b.state_answers.push_back(std::string("migrating"));
  CHECK(run(hand_over(b, "web", true, true)).outcome == Handover::split);
  // Unless the guest runs there after all.
  b.commit_answers.push_back(std::unexpected(unreachable("timed out")));
  CHECK(run(hand_over(b, "web", true, true)).outcome == Handover::handed_over);
}

TEST_CASE("rolling back: the destination told to drop, or a note that it could not be") {
  FakeDestination b;
  CHECK(run(tell_to_drop(b, "web")).empty());
  b.drop_answers.push_back(std::unexpected(refused(404, "no incoming migration")));
  CHECK(run(tell_to_drop(b, "web")).empty());  // already gone: nothing to add
  b.drop_answers.push_back(std::unexpected(unreachable("connection refused")));
  CHECK(run(tell_to_drop(b, "web")) ==
        " (the destination could not be told to drop its copy: connection refused; it drops "
        "it by itself when nothing arrives)");
  CHECK(b.calls == Strings{"drop web", "drop web", "drop web"});
}
