// What qmd asks of the guest agent on a caller's behalf: information, exec, ping, passwords,
// fsfreeze with a bounded automatic thaw, and the guest clock. No lifecycle lock is taken
// (QgaClient runs agent commands one at a time already); each method keeps its Run alive
// while it waits, so a VM that stops meanwhile only fails the command.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <functional>

#include "daemon/runtime/vm.hpp"
#include "qmp/qga_commands.hpp"

namespace qmd::daemon {

using namespace std::chrono_literals;

namespace {

// How long the first ping of every operation may take. The agent answers a ping in
// milliseconds; more means it is busy with a long command, hung, or gone.
constexpr auto kReachTimeout = 3s;

std::string not_connected(const std::string& vm) {
  return fmt::format("VM {}: the guest agent is not connected (is qemu-ga running in the guest?)",
                     vm);
}

// An agent failure in the daemon's terms. `what` names the operation, never its arguments
// (a password must not reach an error message).
OpError agent_error(const std::string& vm, std::string_view what, const qmp::QmpError& error) {
  switch (error.kind) {
    case qmp::QmpError::Kind::timeout:
      return op_error(OpError::Code::timeout,
                      fmt::format("VM {}: the guest agent did not answer {} in time: {}", vm,
                                  what, error.desc));
    case qmp::QmpError::Kind::closed:
    case qmp::QmpError::Kind::transport:
      return op_error(OpError::Code::conflict, not_connected(vm));
    case qmp::QmpError::Kind::oversize:
      return op_error(OpError::Code::unavailable,
                      fmt::format("VM {}: the guest agent broke the protocol during {}: {}", vm,
                                  what, error.desc));
    case qmp::QmpError::Kind::command:
    case qmp::QmpError::Kind::protocol:
      break;
  }
  return op_error(OpError::Code::failed,
                  fmt::format("VM {}: the guest agent failed {}: {}", vm, what, error.to_string()));
}

// The Run whose agent to use, once the agent has answered a ping. RunPtr is Vm's private
// std::shared_ptr<Run>, deduced here.
template <typename RunPtr>
asio::awaitable<std::optional<OpError>> reach_agent(const std::string& vm, VmState state,
                                                    const RunPtr& run) {
  const Verdict rule =
      run && run->qmp ? verdict(VmAction::guest_agent, state) : Verdict::needs_qemu;
  if (rule != Verdict::go) {
    co_return op_error(OpError::Code::conflict,
                       refusal(vm, action_name(VmAction::guest_agent), state, rule, false));
  }
  if (!run->agent_state.connected && run->agent_state.last_seen.empty()) {
    co_return op_error(OpError::Code::conflict, not_connected(vm));
  }
  // An agent that answered before and is silent now is hung (a timeout), not absent.
  if (auto ping = co_await qmp::guest_ping(run->agent, kReachTimeout); !ping) {
    co_return agent_error(vm, "a ping", ping.error());
  }
  co_return std::nullopt;
}

}  // namespace

qmp::QgaOptions Vm::agent_options() {
  qmp::QgaOptions options;
  std::weak_ptr<Vm> weak = weak_from_this();
  auto seen = std::make_shared<std::uint64_t>(0);
  options.on_oversize = [weak, seen](const qmp::QmpError& error) {
    auto self = weak.lock();
    if (!self) {
      return;
    }
    // A hostile agent repeats itself after every reconnect: one line per run, not per ping.
    if ((*seen)++ > 0) {
      spdlog::debug("VM {}: {} (over-size message {} of this run)", self->name_, error.desc,
                    *seen);
      return;
    }
    std::string message = fmt::format("{}; qmd reconnects and resyncs with the next agent "
                                      "command (later ones of this run are logged at debug "
                                      "level)",
                                      error.desc);
    spdlog::warn("VM {}: {}", self->name_, message);
    self->publish("AgentMisbehaved", std::move(message));
  };
  return options;
}

qmp::QmpOptions Vm::qmp_options() {
  qmp::QmpOptions options;
  std::weak_ptr<Vm> weak = weak_from_this();
  options.on_oversize = [weak](const qmp::QmpError& error) {
    auto self = weak.lock();
    if (!self) {
      return;
    }
    std::string message = fmt::format(
        "{}; the VM keeps running without QMP (no QMP events; stop asks the guest agent or "
        "sends QEMU SIGTERM; kill works): stop and start it to get QMP back",
        error.desc);
    spdlog::warn("VM {}: {}", self->name_, message);
    self->publish("Error", std::move(message));
  };
  return options;
}

// One gather per agent command: a timeout ends the whole report (the agent hangs; asking on
// would only add a timeout per field); any other failure is that field's error.
asio::awaitable<std::expected<GuestReport, OpError>> Vm::guest_info() {
  auto run = run_;
  if (auto unreachable = co_await reach_agent(name_, state_, run)) {
    co_return std::unexpected(std::move(*unreachable));
  }
  auto info = co_await qmp::guest_info(run->agent);
  if (!info) {
    co_return std::unexpected(agent_error(name_, "guest-info", info.error()));
  }
  GuestReport out;
  out.agent = *info;
  std::optional<OpError> hung;
  // Whether to ask `command` for `field`: not after a hang; not when the agent lacks it (the
  // field then says so).
  const auto ask = [&](auto& field, const char* command) {
    if (hung) {
      return false;
    }
    if (std::ranges::find(info->enabled_commands, command) == info->enabled_commands.end()) {
      field.error =
          fmt::format("the guest agent does not offer {} (disabled, or too old)", command);
      return false;
    }
    return true;
  };
  const auto gather = [&](auto& field, const char* command, auto& result) {
    if (result) {
      field.value = std::move(*result);
    } else if (result.error().kind == qmp::QmpError::Kind::timeout) {
      hung = agent_error(name_, command, result.error());
    } else {
      field.error = result.error().to_string();
    }
  };
  if (ask(out.os, "guest-get-osinfo")) {
    auto answer = co_await qmp::guest_get_osinfo(run->agent);
    gather(out.os, "guest-get-osinfo", answer);
  }
  if (ask(out.hostname, "guest-get-host-name")) {
    auto answer = co_await qmp::guest_get_host_name(run->agent);
    gather(out.hostname, "guest-get-host-name", answer);
  }
  if (ask(out.timezone, "guest-get-timezone")) {
    auto answer = co_await qmp::guest_get_timezone(run->agent);
    gather(out.timezone, "guest-get-timezone", answer);
  }
  if (ask(out.users, "guest-get-users")) {
    auto answer = co_await qmp::guest_get_users(run->agent);
    gather(out.users, "guest-get-users", answer);
  }
  if (ask(out.filesystems, "guest-get-fsinfo")) {
    auto answer = co_await qmp::guest_get_fsinfo(run->agent);
    gather(out.filesystems, "guest-get-fsinfo", answer);
  }
  if (ask(out.interfaces, "guest-network-get-interfaces")) {
    auto answer = co_await qmp::guest_network_get_interfaces(run->agent);
    gather(out.interfaces, "guest-network-get-interfaces", answer);
  }
  if (!hung) {
    // Frozen, the agent disables most commands above; the status says why.
    auto frozen = co_await qmp::guest_fsfreeze_status(run->agent);
    gather(out.fsfreeze, "guest-fsfreeze-status", frozen);
  }
  if (hung) {
    co_return std::unexpected(std::move(*hung));
  }
  co_return out;
}

asio::awaitable<std::expected<qmp::GuestExecResult, OpError>> Vm::guest_exec(
    std::string path, std::vector<std::string> args, std::chrono::seconds limit) {
  auto run = run_;
  if (auto unreachable = co_await reach_agent(name_, state_, run)) {
    co_return std::unexpected(std::move(*unreachable));
  }
  auto result = co_await qmp::guest_exec(run->agent, path, std::move(args), limit);
  if (!result) {
    co_return std::unexpected(agent_error(name_, "guest-exec of " + path, result.error()));
  }
  co_return std::move(*result);
}

asio::awaitable<OpResult> Vm::guest_ping() {
  auto run = run_;
  if (auto unreachable = co_await reach_agent(name_, state_, run)) {
    co_return std::unexpected(std::move(*unreachable));
  }
  co_return OpResult{};
}

asio::awaitable<OpResult> Vm::guest_set_password(std::string user, std::string password,
                                                 bool crypted) {
  auto run = run_;
  if (auto unreachable = co_await reach_agent(name_, state_, run)) {
    co_return std::unexpected(std::move(*unreachable));
  }
  auto done =
      co_await qmp::guest_set_user_password(run->agent, user, std::move(password), crypted);
  if (!done) {
    co_return std::unexpected(agent_error(
        name_, fmt::format("guest-set-user-password for user {}", user), done.error()));
  }
  publish("GuestPasswordSet", fmt::format("the password of guest user {} was set{}", user,
                                          crypted ? " (given crypted)" : ""));
  co_return OpResult{};
}

namespace {

// The automatic thaw's retries: the agent may be busy for a moment (a long exec), and a guest
// left frozen stalls every write in it. Waits of 1, 2 and 4 s.
constexpr int kAutoThawAttempts = 4;
constexpr auto kAutoThawFirstBackoff = 1s;

// Waits for the auto-thaw deadline, then thaws, retrying with a backoff. A cancelled timer
// (thawed, frozen again, the VM gone) ends it without a thaw; `give_up` publishes the last
// failure (Vm::publish is private).
template <typename RunPtr>
asio::awaitable<void> thaw_when_due(std::shared_ptr<Vm> vm, RunPtr run,
                                    std::shared_ptr<asio::steady_timer> timer,
                                    std::chrono::seconds after,
                                    std::function<void(std::string)> give_up) {
  std::chrono::steady_clock::duration backoff = kAutoThawFirstBackoff;
  for (int attempt = 1;; ++attempt) {
    boost::system::error_code ec;
    co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (ec || run->agent_state.auto_thaw != timer || run->exited.is_set()) {
      co_return;
    }
    // Named, no ?: of temporaries: g++ 12 destroys those twice inside a co_await.
    std::string why = fmt::format("automatically, {} s after the freeze", after.count());
    if (attempt > 1) {
      why += fmt::format(", attempt {} of {}", attempt, kAutoThawAttempts);
    }
    const auto thawed = co_await vm->guest_thaw(std::move(why));
    if (thawed) {
      co_return;
    }
    if (attempt == kAutoThawAttempts) {
      give_up(
          fmt::format("the automatic thaw gave up after {} attempts: {}; the guest file "
                      "systems may still be frozen (qmctl thaw {})",
                      kAutoThawAttempts, thawed.error().message, vm->name()));
      co_return;
    }
    // The same timer: a thaw on request or a new freeze cancels the retry too.
    timer->expires_after(backoff);
    backoff *= 2;
  }
}

}  // namespace

asio::awaitable<std::expected<std::int64_t, OpError>> Vm::guest_freeze(
    std::chrono::seconds auto_thaw) {
  auto run = run_;
  if (auto unreachable = co_await reach_agent(name_, state_, run)) {
    co_return std::unexpected(std::move(*unreachable));
  }
  auto frozen = co_await qmp::guest_fsfreeze_freeze(run->agent);
  // A freeze that timed out may have frozen some file systems: the thaw must come anyway.
  if (frozen || frozen.error().kind == qmp::QmpError::Kind::timeout) {
    if (run->agent_state.auto_thaw) {
      run->agent_state.auto_thaw->cancel();
    }
    auto timer = std::make_shared<asio::steady_timer>(ctx_.executor, auto_thaw);
    run->agent_state.auto_thaw = timer;
    auto self = shared_from_this();
    auto give_up = [self](std::string message) { self->publish("Error", std::move(message)); };
    auto watch = [self, run, timer, auto_thaw, give_up] {
      return thaw_when_due(self, run, timer, auto_thaw, give_up);
    };
    asio::co_spawn(ctx_.executor, std::move(watch), asio::detached);
  }
  if (!frozen) {
    co_return std::unexpected(agent_error(name_, "guest-fsfreeze-freeze", frozen.error()));
  }
  publish("GuestFrozen", fmt::format("{} guest file system(s) frozen; thawed automatically in "
                                     "{} s unless thawed before",
                                     *frozen, auto_thaw.count()));
  co_return *frozen;
}

asio::awaitable<std::expected<std::int64_t, OpError>> Vm::guest_thaw(std::string why) {
  auto run = run_;
  // Named: g++ 12 destroys a lambda temporary in a co_await full-expression twice.
  const auto attempt = [&]() -> asio::awaitable<std::expected<std::int64_t, OpError>> {
    if (auto unreachable = co_await reach_agent(name_, state_, run)) {
      co_return std::unexpected(std::move(*unreachable));
    }
    auto count = co_await qmp::guest_fsfreeze_thaw(run->agent);
    if (!count) {
      co_return std::unexpected(agent_error(name_, "guest-fsfreeze-thaw", count.error()));
    }
    co_return *count;
  };
  auto thawed = co_await attempt();
  if (!thawed) {
    // A guest left frozen stalls every write in it: worth an event even when a caller sees
    // the error. A pending automatic thaw stays armed.
    publish("Error", fmt::format("thawing the guest file systems ({}) failed: {}", why,
                                 thawed.error().message));
    co_return thawed;
  }
  if (run && run->agent_state.auto_thaw) {
    run->agent_state.auto_thaw->cancel();
    run->agent_state.auto_thaw.reset();
  }
  publish("GuestThawed", fmt::format("{} guest file system(s) thawed {}", *thawed, why));
  co_return thawed;
}

asio::awaitable<OpResult> Vm::guest_sync_time() {
  auto run = run_;
  if (auto unreachable = co_await reach_agent(name_, state_, run)) {
    co_return std::unexpected(std::move(*unreachable));
  }
  const auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::system_clock::now().time_since_epoch());
  if (auto done = co_await qmp::guest_set_time(run->agent, now.count()); !done) {
    co_return std::unexpected(agent_error(name_, "guest-set-time", done.error()));
  }
  publish("GuestTimeSynced", "the guest clock was set to the host's");
  co_return OpResult{};
}

}  // namespace qmd::daemon
