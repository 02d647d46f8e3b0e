#include "daemon/migration/decisions.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace qmd::daemon::migration {

using namespace std::chrono_literals;

Tuning tune(const ConvergeFacts& f) {
  if (f.postcopy_wanted && !f.postcopy_started && f.passes >= 2) {
    // Precopy had its chance; from here the destination pulls what is left on demand.
    return {.kind = Tuning::Kind::start_postcopy};
  }
  // Not converging: the guest dirties memory faster than the link moves it.
  if (f.passes >= f.raised_at_pass + 3 && f.expected_downtime_ms &&
      *f.expected_downtime_ms > f.downtime_limit_ms && f.downtime_limit_ms < f.max_downtime_ms) {
    return {.kind = Tuning::Kind::raise_downtime,
            .new_limit_ms = std::min(f.downtime_limit_ms * 2, f.max_downtime_ms)};
  }
  return {};
}

Verdict lost_source(bool postcopy_switched, std::string why) {
  return {.kind = postcopy_switched ? Verdict::Kind::split : Verdict::Kind::failed,
          .why = std::move(why)};
}

Verdict judge(const Look& look, std::chrono::seconds timeout) {
  using Kind = Verdict::Kind;
  if (look.status == "completed") {
    // A postcopy asked for and completed between two looks switched meanwhile.
    return {.kind = Kind::completed,
            .mark_switched = look.postcopy_started && !look.postcopy_switched};
  }
  if (look.postcopy_switched && look.status != "postcopy-active") {
    // postcopy-paused (the stream broke), failed or cancelled after the switch.
    return {.kind = Kind::split,
            .why = fmt::format("the migration stopped after the switch to postcopy (QEMU: {}{})",
                               look.status, look.error_desc.empty() ? "" : ", " + look.error_desc)};
  }
  if (look.status.starts_with("postcopy") && !look.postcopy_switched) {
    // Any postcopy status counts: a look may miss postcopy-active and see it paused.
    return {.kind = Kind::switched_now, .mark_switched = true};
  }
  if (look.status == "failed") {
    return {.kind = Kind::failed,
            .why = "QEMU: " + (look.error_desc.empty() ? std::string("the migration failed")
                                                       : look.error_desc)};
  }
  if (look.status == "cancelled") {
    return {.kind = look.cancel_requested ? Kind::cancelled : Kind::failed,
            .why = look.ended_why.empty() ? std::string("QEMU cancelled the migration")
                                          : look.ended_why};
  }
  if (!look.cancel_sent && !look.postcopy_switched && (look.cancel_requested || look.timed_out)) {
    return {.kind = Kind::cancel_now,
            .why = look.cancel_requested
                       ? std::string("cancelled on request")
                       : fmt::format("did not finish within {} s (raise the timeout, the "
                                     "bandwidth, or the downtime limit)",
                                     timeout.count())};
  }
  return {};
}

bool failure_was_after_switch(bool postcopy_started, bool postcopy_switched,
                              std::string_view status_now) {
  return postcopy_started && !postcopy_switched && status_now.starts_with("postcopy");
}

bool ask_before_switchover(bool over_ssh, std::chrono::steady_clock::duration since_last_answer) {
  return !over_ssh || since_last_answer >= 3s;
}

bool time_for_alive_check(std::string_view status,
                          std::chrono::steady_clock::duration since_last_answer) {
  return since_last_answer > 3s && (status == "active" || status == "setup");
}

Handover after_commit_refused(const HandoverFacts& f) {
  if (f.state_there && (*f.state_there == "running" || *f.state_there == "paused")) {
    return Handover::handed_over;  // only the answer got lost
  }
  if (f.postcopy_switched) {
    return Handover::split;
  }
  if (f.state_answered || f.commit_answered) {
    return Handover::rolled_back;
  }
  return Handover::paused_unknown;
}

bool still_cancelling(std::string_view status) {
  return status == "cancelling" || status == "active" || status == "pre-switchover" ||
         status == "device";
}

SourceRollback plan_source_rollback(const RollbackFacts& f) {
  const bool alive = !f.qemu_exited;
  const bool ended = f.status.empty() || f.status == "failed" || f.status == "cancelled" ||
                     f.status == "completed";
  return {.abandon_mirrors = f.copying_disks && alive,
          .cancel_migration = alive && !ended,
          .drop_destination = true,
          .disable_tls = f.tls && alive,  // so that a later migration without TLS works
          .resume = f.was_running && alive};
}

std::string_view failure_event(std::string_view fail_status) {
  return fail_status == "cancelled" ? "MigrationCancelled" : "MigrationFailed";
}

std::string split_mark(bool source_gone, std::string_view destination) {
  return source_gone
             ? std::string()
             : fmt::format("a postcopy migration to {} failed after the switch", destination);
}

std::string split_message(std::string_view why, std::string_view destination, std::string_view vm) {
  return fmt::format(
      "{}; the guest's memory is split between here and {}, so it stays paused here and must "
      "not be resumed (its state here is stale); if {} still runs it, the guest may be "
      "damaged: check it there, then qmctl kill {} here",
      why, destination, destination, vm);
}

bool precopy_in_flight(std::string_view status) {
  return status == "setup" || status == "active" || status == "pre-switchover" ||
         status == "device" || status == "wait-unplug" || status == "cancelling";
}

Adopted after_restart(std::string_view status, bool split_marked) {
  if (status.starts_with("postcopy")) {
    return Adopted::split;
  }
  if (status == "completed") {
    return split_marked ? Adopted::finished_after_switch : Adopted::completed_unhanded;
  }
  return Adopted::cancelled;
}

AdoptedNotice after_restart_notice(Adopted adopted, std::string_view destination,
                                   std::string_view status, std::string_view vm,
                                   std::string_view split_memory) {
  switch (adopted) {
    case Adopted::split:
      return {"MigrationFailed",
              fmt::format("{}; check the VM there, then qmctl kill {} here", split_memory, vm)};
    case Adopted::finished_after_switch:
      // A postcopy that switched (and may have been handed over) and then finished.
      return {"MigrationFailed",
              fmt::format("a postcopy migration to {} finished while qmd was down; the guest "
                          "runs there if it was handed over: check it there, then qmctl kill "
                          "{} here",
                          destination, vm)};
    case Adopted::completed_unhanded:
      return {"MigrationFailed",
              fmt::format("a migration to {} completed but was never handed over (qmd "
                          "stopped); the VM stays paused here: if {} does not run it, "
                          "qmctl resume {}",
                          destination, destination, vm)};
    case Adopted::cancelled:
      break;
  }
  return {"MigrationCancelled",
          fmt::format("an earlier qmd ended during a migration of this VM to {} (QEMU now: {}); "
                      "cancelled, the VM stays here",
                      destination, status.empty() ? std::string_view("no migration") : status)};
}

bool stream_arrived(std::string_view status) { return !status.empty() && status != "setup"; }

bool incoming_past_switch(std::string_view status) { return status.starts_with("postcopy-"); }

std::optional<std::string> incoming_expired(bool arrived,
                                            std::chrono::steady_clock::duration elapsed,
                                            std::chrono::seconds arrive_within,
                                            std::chrono::seconds finish_within) {
  if (!arrived && elapsed > arrive_within) {
    return fmt::format("no migration stream arrived within {} s", arrive_within.count());
  }
  if (elapsed > finish_within) {
    return fmt::format("the source did not hand the VM over within {} s", finish_within.count());
  }
  return std::nullopt;
}

CommitReadiness commit_readiness(std::string_view status, bool exited) {
  if (status == "completed") {
    return CommitReadiness::completed;
  }
  if (status == "postcopy-active") {
    return CommitReadiness::postcopy;
  }
  if (status == "failed" || exited) {
    return CommitReadiness::refuse;
  }
  return CommitReadiness::wait;
}

}  // namespace qmd::daemon::migration
