// The migration's decisions, one case per path the two-qmd e2e tests reach with real QEMU
// (tests/integration/daemon/e2e_migrate*.sh): converging, the postcopy switch, every way a
// transfer fails and what the source then rolls back, split memory, a restarted qmd, and the
// destination's own ends.
#include <doctest/doctest.h>

#include <vector>

#include "daemon/migration/decisions.hpp"

using namespace qmd::daemon::migration;
using namespace std::chrono_literals;
using Kind = Verdict::Kind;

namespace {

constexpr std::chrono::seconds kTimeout{600};

Verdict look(std::string status, Look facts = {}) {
  facts.status = std::move(status);
  return judge(facts, kTimeout);
}

}  // namespace

TEST_CASE("converging: nothing to do while the expected downtime fits") {
  ConvergeFacts f{.passes = 10, .expected_downtime_ms = 200, .downtime_limit_ms = 300};
  CHECK(tune(f) == Tuning{});
  f.expected_downtime_ms.reset();  // QEMU has no estimate yet
  CHECK(tune(f) == Tuning{});
}

TEST_CASE("converging (e2e_migrate_converge): the limit doubles every 3 passes up to the bound") {
  ConvergeFacts f{.expected_downtime_ms = 5000, .downtime_limit_ms = 100, .max_downtime_ms = 700};
  // The raises a guest that never converges sees, pass by pass: 100 -> 200 -> 400 -> 700.
  std::vector<std::pair<std::int64_t, std::uint32_t>> raises;
  for (std::int64_t pass = 1; pass <= 20; ++pass) {
    f.passes = pass;
    const auto t = tune(f);
    if (t.kind == Tuning::Kind::raise_downtime) {
      raises.emplace_back(pass, t.new_limit_ms);
      f.raised_at_pass = pass;  // tried, whether QEMU took it or not
      f.downtime_limit_ms = t.new_limit_ms;
    } else {
      CHECK(t == Tuning{});
    }
  }
  CHECK(raises ==
        std::vector<std::pair<std::int64_t, std::uint32_t>>{{3, 200}, {6, 400}, {9, 700}});
  // At the bound: no more raises (the e2e's "maxDowntimeMs too short" then times out).
  CHECK(f.downtime_limit_ms == f.max_downtime_ms);
}

TEST_CASE("converging: a refused raise is not retried at every look") {
  ConvergeFacts f{.passes = 4,
                  .raised_at_pass = 3,
                  .expected_downtime_ms = 5000,
                  .downtime_limit_ms = 100,
                  .max_downtime_ms = 800};
  CHECK(tune(f) == Tuning{});
  f.passes = 6;
  CHECK(tune(f) == Tuning{.kind = Tuning::Kind::raise_downtime, .new_limit_ms = 200});
}

TEST_CASE("postcopy (e2e_migrate_postcopy): asked for at pass 2, once") {
  ConvergeFacts f{.postcopy_wanted = true, .passes = 1, .expected_downtime_ms = 9000};
  CHECK(tune(f) == Tuning{});
  f.passes = 2;
  CHECK(tune(f).kind == Tuning::Kind::start_postcopy);
  f.postcopy_started = true;
  f.passes = 3;
  CHECK(tune(f).kind != Tuning::Kind::start_postcopy);
}

TEST_CASE("a look: setup and active go on; completed hands over") {
  CHECK(look("setup") == Verdict{});
  CHECK(look("active") == Verdict{});
  CHECK(look("pre-switchover") == Verdict{});
  CHECK(look("completed") == Verdict{.kind = Kind::completed});
}

TEST_CASE("the switch (e2e_migrate_postcopy): seen as any postcopy status, marked at once") {
  for (const char* status : {"postcopy-active", "postcopy-paused", "postcopy-recover"}) {
    CAPTURE(status);
    CHECK(look(status, {.postcopy_started = true}) ==
          Verdict{.kind = Kind::switched_now, .mark_switched = true});
  }
  // The switch came and went between two looks.
  CHECK(look("completed", {.postcopy_started = true}) ==
        Verdict{.kind = Kind::completed, .mark_switched = true});
  CHECK(look("completed", {.postcopy_started = true, .postcopy_switched = true}) ==
        Verdict{.kind = Kind::completed});
  CHECK(look("postcopy-active", {.postcopy_started = true, .postcopy_switched = true}) ==
        Verdict{});
}

TEST_CASE("the destination QEMU killed mid-way (e2e_migrate): QEMU's failure, rolled back") {
  CHECK(look("failed", {.error_desc = "Unable to write to socket: Broken pipe"}) ==
        Verdict{.kind = Kind::failed, .why = "QEMU: Unable to write to socket: Broken pipe"});
  CHECK(look("failed") == Verdict{.kind = Kind::failed, .why = "QEMU: the migration failed"});
}

TEST_CASE("cancel mid-way (e2e_migrate, _state, _storage): cancel sent, then 'cancelled'") {
  CHECK(look("active", {.cancel_requested = true}) ==
        Verdict{.kind = Kind::cancel_now, .why = "cancelled on request"});
  CHECK(look("cancelling", {.cancel_requested = true, .cancel_sent = true}) == Verdict{});
  CHECK(
      look("cancelled",
           {.cancel_requested = true, .cancel_sent = true, .ended_why = "cancelled on request"}) ==
      Verdict{.kind = Kind::cancelled, .why = "cancelled on request"});
}

TEST_CASE("the timeout (e2e_migrate_converge): cancel sent, the operation 'failed'") {
  const Verdict cancel = look("active", {.timed_out = true});
  CHECK(cancel.kind == Kind::cancel_now);
  CHECK(cancel.why ==
        "did not finish within 600 s (raise the timeout, the bandwidth, or the downtime limit)");
  CHECK(look("cancelled", {.cancel_sent = true, .timed_out = true, .ended_why = cancel.why}) ==
        Verdict{.kind = Kind::failed, .why = cancel.why});
  // QEMU cancelling by itself is a failure too.
  CHECK(look("cancelled") == Verdict{.kind = Kind::failed, .why = "QEMU cancelled the migration"});
}

TEST_CASE("no cancel past the switch (e2e_migrate_postcopy): a request does nothing") {
  CHECK(look("postcopy-active", {.postcopy_started = true,
                                 .postcopy_switched = true,
                                 .cancel_requested = true,
                                 .timed_out = true}) == Verdict{});
}

TEST_CASE("the destination QEMU killed in postcopy (e2e_migrate_postcopy): split") {
  for (const char* status : {"postcopy-paused", "failed", "cancelled"}) {
    CAPTURE(status);
    const auto v = look(status, {.error_desc = status == std::string("failed") ? "EOF" : "",
                                 .postcopy_started = true,
                                 .postcopy_switched = true});
    CHECK(v.kind == Kind::split);
    CHECK(v.why.starts_with("the migration stopped after the switch to postcopy (QEMU: " +
                            std::string(status)));
  }
}

TEST_CASE("the source QEMU gone, or QMP failing: failed before the switch, split after") {
  CHECK(lost_source(false, "the source QEMU exited during the migration") ==
        Verdict{.kind = Kind::failed, .why = "the source QEMU exited during the migration"});
  CHECK(lost_source(true, "query-migrate: timed out").kind == Kind::split);
}

TEST_CASE("a failure noticed late: QEMU's status says whether it came after the switch") {
  CHECK(failure_was_after_switch(true, false, "postcopy-active"));
  CHECK(failure_was_after_switch(true, false, "postcopy-paused"));
  CHECK_FALSE(failure_was_after_switch(true, false, "failed"));
  CHECK_FALSE(failure_was_after_switch(false, false, "postcopy-active"));  // never asked for
  CHECK_FALSE(failure_was_after_switch(true, true, "postcopy-active"));    // split already
}

TEST_CASE("the destination qmd killed mid-way (e2e_migrate): asked every 3 s while it loads") {
  CHECK_FALSE(time_for_alive_check("active", 2s));
  CHECK(time_for_alive_check("active", 4s));
  CHECK(time_for_alive_check("setup", 4s));
  CHECK_FALSE(time_for_alive_check("pre-switchover", 4s));  // that look asks by itself
  CHECK_FALSE(time_for_alive_check("postcopy-active", 60s));
}

TEST_CASE("the switchover: asked first, except over ssh with an answer under 3 s old") {
  CHECK(ask_before_switchover(false, 0s));
  CHECK_FALSE(ask_before_switchover(true, 1s));
  CHECK(ask_before_switchover(true, 3s));
}

TEST_CASE("the hand-over: commit failed, but does the guest run there?") {
  // The answer got lost, the guest runs there (or arrived paused): success, not a rollback.
  CHECK(after_commit_refused({.state_answered = true, .state_there = "running"}) ==
        Handover::handed_over);
  CHECK(after_commit_refused(
            {.state_answered = true, .state_there = "paused", .postcopy_switched = true}) ==
        Handover::handed_over);
  // The destination answered and does not run it: roll back here.
  CHECK(after_commit_refused(
            {.commit_answered = true, .state_answered = true, .state_there = "migrating"}) ==
        Handover::rolled_back);
  CHECK(after_commit_refused({.commit_answered = true}) == Handover::rolled_back);
  CHECK(after_commit_refused({.state_answered = true}) == Handover::rolled_back);
  // Past the postcopy switch there is no rollback.
  CHECK(after_commit_refused({.commit_answered = true, .postcopy_switched = true}) ==
        Handover::split);
  // Nobody answers: paused here, never running twice.
  CHECK(after_commit_refused({}) == Handover::paused_unknown);
}

TEST_CASE("rollback (cancel, dest QEMU or qmd killed, timeout): cancel, drop, resume") {
  CHECK(plan_source_rollback({.status = "active", .was_running = true}) ==
        SourceRollback{.cancel_migration = true, .resume = true});
  // QEMU ended the migration itself: nothing to cancel.
  for (const char* status : {"failed", "cancelled", "completed", ""}) {
    CAPTURE(status);
    CHECK_FALSE(plan_source_rollback({.status = status}).cancel_migration);
  }
  // A VM that was paused stays paused (e2e: a paused VM arrives paused, or stays so).
  CHECK_FALSE(plan_source_rollback({.status = "active", .was_running = false}).resume);
}

TEST_CASE("rollback of copyStorage and TLS (e2e_migrate_storage, _tls)") {
  CHECK(plan_source_rollback(
            {.copying_disks = true, .status = "failed", .tls = true, .was_running = true}) ==
        SourceRollback{.abandon_mirrors = true, .disable_tls = true, .resume = true});
}

TEST_CASE("rollback after the source QEMU exited: only the destination is told") {
  CHECK(plan_source_rollback({.copying_disks = true,
                              .qemu_exited = true,
                              .status = "active",
                              .tls = true,
                              .was_running = true}) == SourceRollback{.drop_destination = true});
}

TEST_CASE("rollback: wait while migrate-cancel takes effect") {
  for (const char* status : {"cancelling", "active", "pre-switchover", "device"}) {
    CHECK(still_cancelling(status));
  }
  for (const char* status : {"cancelled", "failed", "completed", ""}) {
    CHECK_FALSE(still_cancelling(status));
  }
  CHECK(failure_event("cancelled") == "MigrationCancelled");
  CHECK(failure_event("failed") == "MigrationFailed");
}

TEST_CASE("split memory (e2e_migrate_postcopy): marked unless the stale QEMU is gone") {
  CHECK(split_mark(false, "/run/b.sock") ==
        "a postcopy migration to /run/b.sock failed after the switch");
  CHECK(split_mark(true, "/run/b.sock").empty());
  const auto message =
      split_message("the destination did not take over: gone", "/run/b.sock", "web");
  CHECK(
      message.starts_with("the destination did not take over: gone; the guest's memory is "
                          "split between here and /run/b.sock"));
  CHECK(message.ends_with("then qmctl kill web here"));
}

TEST_CASE("the source qmd killed mid-way (e2e_migrate): the next one cancels a precopy") {
  for (const char* status :
       {"setup", "active", "pre-switchover", "device", "wait-unplug", "cancelling"}) {
    CHECK(precopy_in_flight(status));
  }
  CHECK_FALSE(precopy_in_flight("postcopy-active"));
  CHECK_FALSE(precopy_in_flight("completed"));
  CHECK(after_restart("cancelled", false) == Adopted::cancelled);
  CHECK(after_restart("", false) == Adopted::cancelled);  // no migration at all
}

TEST_CASE("a source qmd restarted past the switch (e2e_migrate_postcopy): split") {
  CHECK(after_restart("postcopy-active", false) == Adopted::split);
  CHECK(after_restart("postcopy-paused", true) == Adopted::split);
  CHECK(after_restart("completed", true) == Adopted::finished_after_switch);
  CHECK(after_restart("completed", false) == Adopted::completed_unhanded);
}

TEST_CASE("a restarted source says what became of the migration, naming what to do") {
  const auto split = after_restart_notice(Adopted::split, "/run/b.sock", "postcopy-active", "vm1",
                                          "a postcopy migration to /run/b.sock had switched");
  CHECK(split.event == "MigrationFailed");
  CHECK(split.message == "a postcopy migration to /run/b.sock had switched; check the VM "
                         "there, then qmctl kill vm1 here");
  const auto unhanded =
      after_restart_notice(Adopted::completed_unhanded, "/run/b.sock", "completed", "vm1", "");
  CHECK(unhanded.event == "MigrationFailed");
  CHECK(unhanded.message.find("qmctl resume vm1") != std::string::npos);
  const auto finished = after_restart_notice(Adopted::finished_after_switch, "/run/b.sock",
                                             "completed", "vm1", "split");
  CHECK(finished.event == "MigrationFailed");
  CHECK(finished.message.find("then qmctl kill vm1 here") != std::string::npos);
  const auto none = after_restart_notice(Adopted::cancelled, "/run/b.sock", "", "vm1", "");
  CHECK(none.event == "MigrationCancelled");
  CHECK(none.message == "an earlier qmd ended during a migration of this VM to /run/b.sock "
                        "(QEMU now: no migration); cancelled, the VM stays here");
  const auto cancelled =
      after_restart_notice(Adopted::cancelled, "/run/b.sock", "cancelled", "vm1", "");
  CHECK(cancelled.message.find("(QEMU now: cancelled)") != std::string::npos);
}

TEST_CASE("the destination: nothing arrives (e2e_migrate's arriveWithinSeconds)") {
  CHECK_FALSE(stream_arrived(""));
  CHECK_FALSE(stream_arrived("setup"));
  CHECK(stream_arrived("active"));
  CHECK_FALSE(incoming_expired(false, 1s, 2s, 900s));
  CHECK(incoming_expired(false, 3s, 2s, 900s) == "no migration stream arrived within 2 s");
  CHECK_FALSE(incoming_expired(true, 3s, 2s, 900s));
  // The source (or its qmd) went away mid-way: no hand-over in time.
  CHECK(incoming_expired(true, 901s, 2s, 900s) ==
        "the source did not hand the VM over within 900 s");
}

TEST_CASE("a destination qmd restarted before the hand-over keeps only a switched guest") {
  CHECK(incoming_past_switch("postcopy-active"));
  CHECK(incoming_past_switch("postcopy-paused"));
  CHECK(incoming_past_switch("postcopy-recover"));
  // Before the switch the source still runs the guest: this copy goes.
  CHECK_FALSE(incoming_past_switch("active"));
  CHECK_FALSE(incoming_past_switch("setup"));
  CHECK_FALSE(incoming_past_switch(""));
  CHECK_FALSE(incoming_past_switch("completed"));
  CHECK_FALSE(incoming_past_switch("failed"));
}

TEST_CASE("the destination's commit: completed, postcopy, wait, or refuse") {
  CHECK(commit_readiness("completed", false) == CommitReadiness::completed);
  CHECK(commit_readiness("completed", true) == CommitReadiness::completed);
  CHECK(commit_readiness("postcopy-active", false) == CommitReadiness::postcopy);
  CHECK(commit_readiness("active", false) == CommitReadiness::wait);
  CHECK(commit_readiness("device", false) == CommitReadiness::wait);
  CHECK(commit_readiness("failed", false) == CommitReadiness::refuse);
  CHECK(commit_readiness("active", true) == CommitReadiness::refuse);
}
