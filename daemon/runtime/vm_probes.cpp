// readinessProbe and livenessProbe through the guest agent, with KubeVirt's meaning: a probe
// runs every periodSeconds while the guest runs (not while paused or migrating); readiness
// shows in the API; a liveness probe that fails failureThreshold times in a row ends the run
// as a failure, and runStrategy decides whether the VM starts again.
#include <fmt/format.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <csignal>

#include "daemon/runtime/event_bus.hpp"
#include "daemon/runtime/vm.hpp"
#include "qmp/guest_text.hpp"
#include "qmp/qga_commands.hpp"

namespace qmd::daemon {

namespace {

// The first line of a failed command's stderr, short and printable: the guest wrote it, and
// it goes into events and the VM's record.
std::string first_line(const std::string& text) {
  const std::string_view all(text);
  return qmp::sanitize_guest_text(all.substr(0, all.find('\n')), 200);
}

// "" when the probe passed, else why it failed.
asio::awaitable<std::string> run_probe(qmp::QgaClient& agent, policy::Probe probe) {
  const std::chrono::seconds limit{probe.timeout_seconds};
  if (probe.exec.empty()) {
    auto ping = co_await qmp::guest_ping(agent, limit);
    if (!ping) {
      co_return "guest-ping: " + ping.error().to_string();
    }
    co_return std::string();
  }
  const std::string program = probe.exec.front();
  std::vector<std::string> args(probe.exec.begin() + 1, probe.exec.end());
  auto result = co_await qmp::guest_exec(agent, program, std::move(args), limit);
  if (!result) {
    co_return fmt::format("{}: {}", program, result.error().to_string());
  }
  if (result->signal) {
    co_return fmt::format("{} was killed by signal {}", program, *result->signal);
  }
  if (result->exit_code != 0) {
    const std::string why = first_line(result->err);
    co_return fmt::format("{} exited with {}{}{}", program, result->exit_code,
                          why.empty() ? "" : ": ", why);
  }
  co_return std::string();
}

}  // namespace

bool Vm::ready() const {
  return state_ == VmState::running && run_ &&
         (!run_->probes.readiness || run_->probes.readiness->passing);
}

std::optional<Vm::ProbeStatus> Vm::probe_status() const {
  if (!run_ || (!run_->probes.readiness && !run_->probes.liveness)) {
    return std::nullopt;
  }
  return ProbeStatus{run_->probes.readiness, run_->probes.liveness};
}

void Vm::start_probes(const std::shared_ptr<Run>& run) {
  auto parsed = spec();
  if (!parsed) {
    return;
  }
  auto self = shared_from_this();
  if (parsed->readiness_probe) {
    run->probes.readiness.emplace();
    auto loop = [self, run, probe = *parsed->readiness_probe] {
      return self->probe_loop(run, false, probe);
    };
    asio::co_spawn(ctx_.executor, std::move(loop), asio::detached);
  }
  if (parsed->liveness_probe) {
    run->probes.liveness.emplace().passing = true;  // alive until it fails
    auto loop = [self, run, probe = *parsed->liveness_probe] {
      return self->probe_loop(run, true, probe);
    };
    asio::co_spawn(ctx_.executor, std::move(loop), asio::detached);
  }
}

// Whether a probe of `run` means anything now: the guest runs here, whole, thawed, and no
// stop or exit is under way (a result then says nothing about the guest's health).
bool Vm::probe_counts(const std::shared_ptr<Run>& run) const {
  return run_ == run && state_ == VmState::running && !run->exited.is_set() &&
         !run->stop_requested && !run->migration.qemu_gone && !run->migration.pages_arriving &&
         !run->agent_state.auto_thaw;
}

asio::awaitable<void> Vm::probe_loop(std::shared_ptr<Run> run, bool liveness,
                                     policy::Probe probe) {
  const std::chrono::seconds delay{probe.initial_delay_seconds};
  const std::chrono::seconds period{probe.period_seconds};
  const bool ended = co_await run->exited.wait_for(delay);
  if (ended) {
    co_return;
  }
  while (!run->exited.is_set()) {
    if (probe_counts(run)) {
      std::string failure = co_await run_probe(run->agent, probe);
      // The run may have ended, paused, frozen or begun migrating meanwhile: a probe that
      // failed because of that says nothing about the guest.
      if (!probe_counts(run)) {
        co_await run->exited.wait_for(period);
        continue;
      }
      auto& tally = liveness ? *run->probes.liveness : *run->probes.readiness;
      tally.last_at = format_time(std::chrono::system_clock::now());
      if (tally.count(failure, probe)) {
        probe_changed(run, liveness, probe);
      }
      if (liveness && !tally.passing) {
        co_return;  // probe_changed ended the run
      }
    }
    co_await run->exited.wait_for(period);
  }
}

void Vm::probe_changed(const std::shared_ptr<Run>& run, bool liveness,
                       const policy::Probe& probe) {
  const auto& tally = liveness ? *run->probes.liveness : *run->probes.readiness;
  if (!liveness) {
    if (tally.passing) {
      publish("Ready", fmt::format("the readiness probe passed {} time(s) in a row",
                                   tally.successes));
    } else {
      publish("NotReady", fmt::format("the readiness probe failed {} times in a row: {}",
                                      tally.failures, tally.last_result));
    }
    return;
  }
  run->kill_reason = fmt::format("the liveness probe failed {} times in a row (every {} s): {}",
                                 tally.failures, probe.period_seconds, tally.last_result);
  record_.last_error = run->kill_reason;
  save_record();
  publish("LivenessProbeFailed",
          fmt::format("{}; killing QEMU (runStrategy {} decides whether the VM starts again)",
                      run->kill_reason, run_strategy()));
  run->guest_shutdown = false;
  if (run->qemu) {
    run->qemu->signal(SIGKILL);
  }
}

}  // namespace qmd::daemon
