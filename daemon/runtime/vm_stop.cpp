// Vm::stop and Vm::kill, and the teardown every ending shares.
#include <fmt/format.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>

#include <filesystem>

#include "daemon/host/tap.hpp"
#include "daemon/runtime/vm.hpp"
#include "daemon/store/remove_tree.hpp"
#include "daemon/store/scratch_images.hpp"
#include "qmp/commands.hpp"
#include "qmp/qga_commands.hpp"

namespace qmd::daemon {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

constexpr std::chrono::seconds kDefaultGrace{180};  // KubeVirt's terminationGracePeriodSeconds

// Everything made for one run goes with it: sockets, pid files, the ephemeral VARS and TPM
// state, emptyDisk images, a migration's TLS copy. The QEMU user owns the run dir, so this
// goes through descriptors and removes links instead of following them. The logs stay, to
// tell why the run ended (regular files only: a link with a log's name goes too).
void clear_run_dir(const std::string& run_dir) {
  auto parent = open_parent(run_dir);
  if (!parent) {
    return;
  }
  UniqueFd dir = open_dir_nofollow(parent->first.get(), parent->second.c_str());
  if (!dir) {
    return;
  }
  for (const auto& name : names_in_dir(dir.get())) {
    struct stat st {};
    const bool log = name.ends_with(".log") &&
                     ::fstatat(dir.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                     S_ISREG(st.st_mode) && st.st_nlink == 1;
    if (!log) {
      remove_tree_at(dir.get(), name.c_str());
    }
  }
}

}  // namespace

asio::awaitable<OpResult> Vm::stop(std::optional<std::chrono::seconds> grace) {
  if (auto movable = check_migration(VmAction::stop); !movable) {
    co_return movable;
  }
  auto guard = co_await lock_.lock();
  std::chrono::seconds limit = kDefaultGrace;
  if (grace) {
    limit = *grace;
  } else if (auto parsed = spec(); parsed && parsed->termination_grace_period_seconds) {
    limit = std::chrono::seconds{*parsed->termination_grace_period_seconds};
  }
  co_return co_await stop_locked(limit);
}

asio::awaitable<OpResult> Vm::kill() {
  if (state_ == VmState::migrating && run_ && run_->qemu) {
    // Kill does not wait for a migration: with QEMU gone the migration fails at once (the
    // source gives up, the destination drops its copy) and the lock comes free.
    run_->stop_requested = true;
    run_->qemu->signal(SIGKILL);
  }
  auto guard = co_await lock_.lock();
  co_return co_await kill_locked();
}

asio::awaitable<OpResult> Vm::stop_locked(std::chrono::seconds grace) {
  if (verdict(VmAction::stop, state_) == Verdict::nothing_to_do || !run_) {
    co_return OpResult{};  // already stopped: nothing to do
  }
  auto run = run_;
  run->stop_requested = true;
  const bool was_running = state_ == VmState::running;
  set_state(VmState::shuttingdown, fmt::format("stop requested (grace {} s)", grace.count()));

  std::string how = "quit";
  if (was_running && run->qmp) {
    bool asked = false;
    if (run->agent_state.connected) {
      asked = static_cast<bool>(co_await qmp::guest_shutdown(run->agent, "powerdown"));
      how = "guest agent shutdown";
    }
    if (!asked) {
      asked = static_cast<bool>(co_await qmp::system_powerdown(*run->qmp));
      how = "ACPI powerdown";
    }
    if (asked) {
      publish("ShutdownRequested", fmt::format("asked the guest to power off ({})", how));
      // Windows often ignores the first ACPI request (it is still booting, or asleep):
      // ask once more halfway through.
      // Every co_await result is named first: g++ 12 miscompiles `if (!co_await x)`.
      const bool off_early = co_await run->exited.wait_for(grace / 2);
      if (!off_early && how == "ACPI powerdown" && run->qmp && run->qmp->is_open()) {
        (void)co_await qmp::system_powerdown(*run->qmp);
      }
      const bool off = co_await run->exited.wait_for(grace - grace / 2);
      if (off) {
        co_return OpResult{};
      }
      publish("StopEscalated", fmt::format("the guest did not power off within {} s after {}; "
                                           "quitting QEMU",
                                           grace.count(), how));
    }
  }
  if (run->qmp && run->qmp->is_open()) {
    (void)co_await qmp::quit(*run->qmp);
    const bool quit = co_await run->exited.wait_for(5s);
    if (quit) {
      co_return OpResult{};
    }
  }
  if (run->qemu) {
    run->qemu->signal(SIGTERM);
    const bool terminated = co_await run->exited.wait_for(5s);
    if (terminated) {
      co_return OpResult{};
    }
  }
  co_return co_await kill_locked();
}

asio::awaitable<OpResult> Vm::kill_locked() {
  if (verdict(VmAction::kill, state_) == Verdict::nothing_to_do || !run_) {
    co_return OpResult{};
  }
  auto run = run_;
  run->stop_requested = true;
  if (run->qemu) {
    run->qemu->signal(SIGKILL);
  }
  const bool killed = co_await run->exited.wait_for(10s);
  if (!killed) {
    co_return std::unexpected(op_error(
        OpError::Code::timeout,
        fmt::format("VM {}: QEMU (pid {}) did not exit 10 s after SIGKILL (stuck in the "
                    "kernel?)",
                    name_, run->qemu ? run->qemu->pid() : -1)));
  }
  co_return OpResult{};
}

asio::awaitable<void> Vm::teardown(Run& run) {
  if (run.qmp) {
    run.qmp->close();
  }
  if (run_.get() == &run || !run_) {
    console_->disconnect();
  }
  if (run.qemu && !run.qemu->exited()) {
    run.qemu->signal(SIGKILL);
    co_await run.qemu->wait_exit_for(10s);
  }
  if (run.swtpm && !run.swtpm->exited()) {
    // swtpm --terminate ends once QEMU has gone; give it a moment, then insist.
    const bool ended = co_await run.swtpm->wait_exit_for(2s);
    if (!ended) {
      run.swtpm->signal(SIGTERM);
      const bool terminated = co_await run.swtpm->wait_exit_for(2s);
      if (!terminated) {
        run.swtpm->signal(SIGKILL);
        co_await run.swtpm->wait_exit_for(5s);
      }
    }
  }
  co_await stop_passt(run);
  release_forwards(run);
  for (const auto& tap : run.network.taps) {
    if (auto removed = delete_tap(tap); !removed) {
      publish("Error", removed.error());
    }
  }
  run.network.taps.clear();
  co_await detach_nat(run);
  if (run_.get() == &run || !run_) {
    co_await end_hot_nics(false);  // their taps and guards went with the run's
  }
  for (int cpu : run.pinned) {
    ctx_.pinned_cpus.erase(cpu);
  }
  run.pinned.clear();
  clear_run_dir(paths().run_dir);
}

}  // namespace qmd::daemon
