#pragma once
// What a migration does next, decided from facts: pure functions, no QEMU, no peer, no clock.
// The source's follow loop and rollback, the destination's watch and commit, and a restarted
// qmd's adoption ask these and act on the answer, so every branch is tested here
// (tests/unit/daemon/migration/test_decisions.cpp).
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace qmd::daemon::migration {

// --- converging: raise the downtime limit, or switch to postcopy
struct ConvergeFacts {
  bool postcopy_wanted = false;
  bool postcopy_started = false;    // migrate-start-postcopy already asked for
  std::int64_t passes = 0;          // QEMU's dirty-sync-count
  std::int64_t raised_at_pass = 0;  // the pass of the last raise (tried), 0: none yet
  std::optional<std::int64_t> expected_downtime_ms{};
  std::uint32_t downtime_limit_ms = 300;
  std::uint32_t max_downtime_ms = 2000;
};
struct Tuning {
  enum class Kind { none, start_postcopy, raise_downtime };
  Kind kind = Kind::none;
  std::uint32_t new_limit_ms = 0;  // raise_downtime: min(2 x limit, max)
  bool operator==(const Tuning&) const = default;
};
// Postcopy once precopy had two passes; otherwise, when the expected downtime stayed above
// the limit for 3 passes since the last raise, double the limit up to the bound (as Proxmox
// does).
Tuning tune(const ConvergeFacts& facts);

// --- each look at QEMU's migration status on the source
struct Look {
  std::string status{};      // query-migrate's
  std::string error_desc{};  // with "failed"
  bool postcopy_started = false;
  bool postcopy_switched = false;  // the source's CPUs stopped for good: no way back
  bool cancel_requested = false;   // the operation was cancelled
  bool cancel_sent = false;        // migrate-cancel already sent
  bool timed_out = false;          // the transfer ran past its timeout
  std::string ended_why{};         // why qmd sent migrate-cancel (on request, the timeout)
};
struct Verdict {
  enum class Kind {
    go_on,         // keep following (pre-switchover and tuning are the caller's)
    completed,     // every byte sent: hand the VM over
    switched_now,  // postcopy has switched: hand the guest over at once (early commit)
    split,         // stopped after the postcopy switch: neither copy may run
    failed,        // roll back
    cancelled,     // roll back, the operation "cancelled"
    cancel_now,    // send migrate-cancel (why: ended_why for later)
  };
  Kind kind = Kind::go_on;
  std::string why{};
  bool mark_switched = false;  // record the switch now (before anything else can wait)
  bool operator==(const Verdict&) const = default;
};
Verdict judge(const Look& look, std::chrono::seconds timeout);
// The source QEMU exited, or query-migrate failed: a failure, or a split past the switch.
Verdict lost_source(bool postcopy_switched, std::string why);
// A failure noticed between two looks may have come after the switch (a migrate-continue
// that timed out but went through): QEMU's status now says whether a rollback is possible.
bool failure_was_after_switch(bool postcopy_started, bool postcopy_switched,
                              std::string_view status_now);

// --- the destination says it is ready for the switchover
// Over ssh a question costs a handshake of guest downtime: an answer younger than 3 s will do.
bool ask_before_switchover(bool over_ssh, std::chrono::steady_clock::duration since_last_answer);
// Every 3 s while active or setup: a destination qmd that went away is noticed before the
// switchover.
bool time_for_alive_check(std::string_view status,
                          std::chrono::steady_clock::duration since_last_answer);

// --- the hand-over, when commit did not answer 200
struct HandoverFacts {
  bool commit_answered = false;              // an HTTP answer came (not a transport failure)
  bool state_answered = false;               // GET /v1/vms/NAME answered at all
  std::optional<std::string> state_there{};  // its state, when it answered 200 with one
  bool postcopy_switched = false;
};
enum class Handover {
  handed_over,     // the answer got lost, but the guest runs there: success
  split,           // past the postcopy switch: neither copy may run
  rolled_back,     // the destination answered and does not run it: roll back here
  paused_unknown,  // nobody answered: stay paused here so that it never runs twice
};
Handover after_commit_refused(const HandoverFacts& facts);

// --- rolling back on the source
struct RollbackFacts {
  bool copying_disks = false;
  bool qemu_exited = false;
  std::string status{};  // query-migrate's, when the rollback begins
  bool tls = false;
  bool was_running = false;
};
struct SourceRollback {
  bool abandon_mirrors = false;
  bool cancel_migration = false;
  bool drop_destination = true;  // DELETE the incoming VM there (it drops it by itself too)
  bool disable_tls = false;
  bool resume = false;  // QMP cont: the guest ran before
  bool operator==(const SourceRollback&) const = default;
};
SourceRollback plan_source_rollback(const RollbackFacts& facts);
// While migrate-cancel takes effect: the rollback waits before resuming.
bool still_cancelling(std::string_view status);
// The operation's end and its event.
std::string_view failure_event(std::string_view fail_status);  // MigrationCancelled|Failed

// --- split memory (postcopy failed after the switch)
// The record's mark: empty when the source QEMU is gone (it took the stale half with it).
std::string split_mark(bool source_gone, std::string_view destination);
std::string split_message(std::string_view why, std::string_view destination, std::string_view vm);

// --- a restarted source qmd finds a VM whose record says it was migrating
bool precopy_in_flight(std::string_view status);
enum class Adopted {
  cancelled,              // precopy cancelled back, or no migration: the VM stays here
  split,                  // past the postcopy switch: marked split
  finished_after_switch,  // a switched postcopy finished: it runs there if handed over
  completed_unhanded,     // precopy completed but never handed over: paused, for a person
};
Adopted after_restart(std::string_view status, bool split_marked);
// What a restarted source says of such a migration: the event and its text (`split_memory`:
// the record's mark, set by then for a split).
struct AdoptedNotice {
  std::string event;  // MigrationFailed|MigrationCancelled
  std::string message;
};
AdoptedNotice after_restart_notice(Adopted adopted, std::string_view destination,
                                   std::string_view status, std::string_view vm,
                                   std::string_view split_memory);

// --- the destination
// QEMU's incoming status says the stream came.
bool stream_arrived(std::string_view status);
// A restarted destination qmd keeps an unhanded incoming QEMU at this status: past the
// postcopy switch the guest's CPU state is here and the source cannot take it back.
bool incoming_past_switch(std::string_view status);
// Why an incoming VM is dropped now, or nullopt while it may still come.
std::optional<std::string> incoming_expired(bool arrived,
                                            std::chrono::steady_clock::duration elapsed,
                                            std::chrono::seconds arrive_within,
                                            std::chrono::seconds finish_within);
enum class CommitReadiness { wait, completed, postcopy, refuse };
// What commit does with the incoming QEMU's status (`exited`: it is gone).
CommitReadiness commit_readiness(std::string_view status, bool exited);

}  // namespace qmd::daemon::migration
