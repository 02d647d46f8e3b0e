// Following a running VM: QMP events, the QEMU exit (pidfd), the guest agent, restarts by
// runStrategy, and adoption of a QEMU left running by an earlier qmd.
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "daemon/migration/decisions.hpp"
#include "daemon/runtime/proc_files.hpp"
#include "daemon/runtime/vm.hpp"
#include "daemon/store/dir_fd.hpp"
#include "qmp/commands.hpp"
#include "qmp/guest_panic.hpp"
#include "qmp/qga_commands.hpp"

namespace qmd::daemon {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

// The NUL-separated command line of `pid` holds "-uuid" followed by `uuid`.
bool cmdline_has_uuid(pid_t pid, const std::string& uuid) {
  const std::string text = read_proc_file(fmt::format("/proc/{}/cmdline", pid));
  std::vector<std::string> args;
  std::string::size_type begin = 0;
  while (begin < text.size()) {
    const auto end = text.find('\0', begin);
    args.push_back(text.substr(begin, end == std::string::npos ? end : end - begin));
    if (end == std::string::npos) {
      break;
    }
    begin = end + 1;
  }
  for (std::size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == "-uuid" && args[i + 1] == uuid) {
      return true;
    }
  }
  return false;
}

// Pid files sit in the run dir, where swtpm (the QEMU user) writes: read them without
// following a link or blocking on a FIFO, and only a few bytes.
std::optional<pid_t> read_pid(const std::string& path) {
  constexpr std::size_t kMaxPidFileBytes = 32;
  const auto read = read_file_nofollow(path, kMaxPidFileBytes);
  if (!read) {
    return std::nullopt;
  }
  const std::string& text = *read;
  try {
    const long value = std::stol(text);
    if (value > 1) {
      return static_cast<pid_t>(value);
    }
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

}  // namespace

void Vm::watch_events() {
  std::weak_ptr<Vm> weak = shared_from_this();
  std::weak_ptr<Run> weak_run = run_;
  run_->qmp->on_event([weak, weak_run](const qmp::QmpEvent& event) {
    auto self = weak.lock();
    auto run = weak_run.lock();
    if (!self || !run || self->run_ != run) {
      return;
    }
    if (event.name == "STOP") {
      if (self->state_ == VmState::running) {
        self->set_state(VmState::paused, "QEMU stopped the vCPUs");
      }
    } else if (event.name == "RESUME") {
      if (self->state_ == VmState::paused) {
        self->set_state(VmState::running, "QEMU resumed the vCPUs");
      }
    } else if (event.name == "SHUTDOWN") {
      const auto* reason = event.data.if_contains("reason");
      // QEMU's panic action (shutdown by default) follows GUEST_PANICKED with a SHUTDOWN
      // of reason guest-panic: still a crash, not a power-off.
      const bool after_panic = (reason != nullptr && reason->is_string() &&
                                reason->as_string() == "guest-panic") ||
                               !run->kill_reason.empty();
      run->guest_shutdown = !after_panic;
      std::string message = fmt::format("QEMU shutting down ({})",
                                        reason != nullptr && reason->is_string()
                                            ? std::string(reason->as_string())
                                            : std::string("no reason given"));
      // During a requested stop the state is shuttingdown already; the reason (did the
      // guest power itself off, or did we quit it?) must still reach the event stream.
      if (self->state_ == VmState::shuttingdown) {
        self->publish("Shutdown", std::move(message));
      } else {
        self->set_state(VmState::shuttingdown, std::move(message));
      }
    } else if (event.name == "GUEST_PANICKED") {
      run->kill_reason = "the guest panicked";
      run->guest_shutdown = false;
      run->stop_requested = false;
      const std::string crash = qmp::describe_crash(qmp::parse_guest_panicked(event.data));
      self->publish("GuestPanicked",
                    crash.empty() ? std::string("the guest kernel panicked; stopping QEMU")
                                  : "the guest kernel panicked: " + crash + "; stopping QEMU");
      if (!crash.empty()) {
        run->kill_reason += ": " + crash;
      }
      if (run->qemu) {
        run->qemu->signal(SIGKILL);
      }
    } else if (event.name == "MIGRATION") {
      run->migration.event = true;
      if (run->migration.wake) {
        run->migration.wake->cancel();  // follow_migration looks at once
      }
    } else if (event.name == "RESET") {
      self->publish("Reset", "the guest was reset");
    }
  });
}

asio::awaitable<void> Vm::supervise(std::shared_ptr<Run> run) {
  const auto began = std::chrono::steady_clock::now();
  co_await run->qemu->wait_exit();
  // Decided before anything here can suspend. follow_migration checks qemu_gone after each
  // look, so a postcopy switch was either marked before this point or is never marked: a
  // VM whose guest may run elsewhere is never restarted here.
  run->migration.qemu_gone = true;
  const bool was_split = !record_.split_memory.empty();
  const std::string how = run->qemu->describe();
  const bool expected = run->stop_requested || run->guest_shutdown;
  co_await teardown(*run);
  co_await return_borrowed_uid();
  if (run_ == run) {
    run_.reset();
  }
  if (record_.incoming) {
    // A destination QEMU that ends before the hand-over takes the VM with it: the source
    // still has it.
    set_state(VmState::stopped, fmt::format("incoming migration ended: QEMU {}", how));
    run->exited.set();
    discard_now();
    co_return;
  }
  // The stale half of a split postcopy went with this QEMU; a restart here could run the
  // guest next to the destination's copy, so only a person starts it again.
  if (!expected || was_split || !record_.split_memory.empty()) {
    if (!expected) {
      record_.last_error = run->kill_reason.empty()
                               ? fmt::format("QEMU {} unexpectedly", how)
                               : fmt::format("{}: QEMU {}", run->kill_reason, how);
    }
    record_.split_memory.clear();
    save_record();
  }
  // It ran a while: a new failure starts the backoff over. Not after a failed liveness probe,
  // which comes late by design: a probe that never passes must not restart it every second.
  if (std::chrono::steady_clock::now() - began > 60s && run->kill_reason.empty()) {
    restarts_ = 0;
  }
  if (expected) {
    set_state(VmState::stopped, fmt::format("QEMU {}", how));
  } else {
    set_state(VmState::crashed, run->kill_reason.empty()
                                    ? fmt::format("QEMU {} unexpectedly", how)
                                    : fmt::format("QEMU {}: {}", how, run->kill_reason));
  }
  run->exited.set();
  if (!run->stop_requested && !retired_ && !was_split) {
    co_await maybe_restart(!expected);
  }
}

asio::awaitable<void> Vm::maybe_restart(bool crashed) {
  const std::string strategy = run_strategy();
  const bool again = strategy == "Always" || (strategy == "RerunOnFailure" && crashed);
  if (!again) {
    co_return;
  }
  const auto delay = std::min<std::chrono::seconds>(std::chrono::seconds{1 << std::min(restarts_, 6)}, 60s);
  ++restarts_;
  publish("Restarting", fmt::format("runStrategy {}: starting again in {} s (restart {})",
                                    strategy, delay.count(), restarts_));
  asio::steady_timer timer(ctx_.executor, delay);
  boost::system::error_code ec;
  co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  auto guard = co_await lock_.lock();
  if (retired_ || is_active(state_)) {
    co_return;  // deleted, or someone started it meanwhile
  }
  if (auto started = co_await start_locked(); !started) {
    publish("Error", started.error().message);
  }
}

asio::awaitable<void> Vm::watch_agent(std::shared_ptr<Run> run) {
  start_probes(run);  // they ask the agent, and live as long as this watch
  while (!run->exited.is_set()) {
    const auto ping = co_await qmp::guest_ping(run->agent, 2s);
    if (run->exited.is_set()) {
      break;
    }
    if (ping) {
      run->agent_state.last_seen = format_time(std::chrono::system_clock::now());
      const bool connected_now = !run->agent_state.connected;
      if (connected_now) {
        run->agent_state.connected = true;
        if (auto info = co_await qmp::guest_info(run->agent); info) {
          run->agent_state.version = info->version;
        }
        publish("AgentConnected", fmt::format("guest agent {} answers", run->agent_state.version));
      }
      co_await sync_access_keys(run, connected_now);
    } else if (run->agent_state.connected) {
      run->agent_state.connected = false;
      publish("AgentDisconnected", ping.error().to_string());
    }
    co_await run->exited.wait_for(run->agent_state.connected ? 5s : 1s);
  }
}

// Adoption in steps: the pidfile's QEMU (only this VM's), its sidecars, QMP, the console and
// taps; an arrival still waiting for its source; a migration an earlier qmd left behind;
// then the state QEMU is in.
asio::awaitable<bool> Vm::adopt() {
  auto guard = co_await lock_.lock();
  const auto pid = co_await adoptable_pid();
  std::optional<ProcessHandle> qemu;
  if (pid) {
    auto opened = ProcessHandle::open(ctx_.executor, *pid);
    if (opened) {
      qemu.emplace(std::move(*opened));
    }
  }
  if (!qemu) {
    co_await end_hot_nics(true);  // the run they were attached to is over
    co_return false;
  }
  run_ = std::make_shared<Run>(ctx_.executor, paths().qga_socket(), agent_options());
  auto run = run_;
  run->qemu.emplace(std::move(*qemu));
  adopt_sidecars(*run);
  if (auto failed = co_await connect_qmp(10s)) {
    publish("Adoption", fmt::format("QEMU pid {} is running but QMP did not answer: {}; "
                                    "killing it",
                                    *pid, *failed));
    co_await end_hot_nics(true);
    co_await teardown(*run);
    run_.reset();
    set_state(VmState::crashed, "not adoptable: " + *failed);
    co_return false;
  }
  watch_events();
  co_await keep_console("adopted (what it printed before is not kept)");
  co_await readopt_taps(run);
  co_await readopt_hot_nics(run);
  if (record_.incoming) {
    const bool kept = co_await keep_incoming(run, *pid);
    if (kept) {
      co_return true;
    }
  }
  if (!record_.migrating_to.empty()) {
    co_await settle_outgoing_migration(run);
  }
  auto status = co_await qmp::query_status(*run->qmp);
  run->started_at = "(adopted)";
  set_state(status && status->running ? VmState::running : VmState::paused,
            fmt::format("adopted QEMU pid {} ({})", *pid,
                        status ? status->status : std::string("status unknown")));
  auto self = shared_from_this();
  asio::co_spawn(ctx_.executor, [self, run] { return self->supervise(run); }, asio::detached);
  asio::co_spawn(ctx_.executor, [self, run] { return self->watch_agent(run); }, asio::detached);
  co_return true;
}

// The pid of this VM's QEMU from its pidfile. The run dir is the VM's uid's: its pid files
// may name any process. Only one with this VM's uuid that runs as this VM's uid is its QEMU
// (not another VM's, whatever its uuid); anything else is said, and the stale files go.
asio::awaitable<std::optional<pid_t>> Vm::adoptable_pid() {
  const cmdline::VmPaths where = paths();
  const std::string pidfile = where.run_dir + "/qemu.pid";
  const auto pid = read_pid(pidfile);
  if (!pid) {
    co_return std::nullopt;
  }
  const auto owner = qemu_owner();
  const uid_t uid = owner ? owner->uid : ::geteuid();
  if (!record_.uuid.empty() && cmdline_has_uuid(*pid, record_.uuid) && runs_with_uid(*pid, uid)) {
    co_return pid;
  }
  publish("Adoption", fmt::format("pidfile {} names pid {}, which is not this VM's QEMU "
                                  "(no -uuid {} running as uid {}); not adopted",
                                  pidfile, *pid, record_.uuid, uid));
  run_ = std::make_shared<Run>(ctx_.executor, where.qga_socket(), agent_options());
  co_await teardown(*run_);
  run_.reset();
  co_return std::nullopt;
}

// The adopted QEMU's swtpm (its pidfile naming a process of this VM's run dir and uid) and
// passt sidecars.
void Vm::adopt_sidecars(Run& run) {
  const cmdline::VmPaths where = paths();
  const auto owner = qemu_owner();
  const uid_t uid = owner ? owner->uid : ::geteuid();
  if (auto swtpm_pid = read_pid(where.swtpm_pid())) {
    const std::string args = read_proc_file(fmt::format("/proc/{}/cmdline", *swtpm_pid));
    if (args.find(where.run_dir + "/") != std::string::npos && runs_with_uid(*swtpm_pid, uid)) {
      if (auto swtpm = ProcessHandle::open(ctx_.executor, *swtpm_pid)) {
        run.swtpm.emplace(std::move(*swtpm));
      }
    }
  }
  adopt_passt(run);
}

// An earlier qmd died while this VM migrated to migrating_to: nobody will hand it over. A
// precopy migration is cancelled back (QEMU resumes the guest if it ran; the destination
// drops its copy when the stream breaks); past a postcopy switch the VM is marked split; a
// completed one waits, paused, for a person.
asio::awaitable<void> Vm::settle_outgoing_migration(std::shared_ptr<Run> run) {
  const std::string dest = record_.migrating_to;
  const std::string status = co_await cancel_precopy(run);
  const auto adopted = migration::after_restart(status, !record_.split_memory.empty());
  if (adopted == migration::Adopted::split && record_.split_memory.empty()) {
    record_.split_memory = fmt::format(
        "a postcopy migration to {} had switched the guest away (QEMU: {}) when qmd stopped",
        dest, status);
  }
  const auto [event, message] =
      migration::after_restart_notice(adopted, dest, status, name_, record_.split_memory);
  publish(event, message);
  record_.migrating_to.clear();
  save_record();
}

// QEMU's migration status now; a precopy still in flight is cancelled first (up to 10 s for
// QEMU to say it ended).
asio::awaitable<std::string> Vm::cancel_precopy(std::shared_ptr<Run> run) {
  auto migration = co_await qmp::query_migrate(*run->qmp);
  std::string status = migration ? migration->status : std::string();
  if (!migration::precopy_in_flight(status)) {
    co_return status;
  }
  (void)co_await qmp::migrate_cancel(*run->qmp);
  for (int i = 0; i < 100 && !run->exited.is_set(); ++i) {
    auto now = co_await qmp::query_migrate(*run->qmp);
    if (!now) {
      break;
    }
    status = now->status;
    if (!migration::precopy_in_flight(status)) {
      break;
    }
    co_await run->exited.wait_for(100ms);
  }
  co_return status;
}

}  // namespace qmd::daemon
