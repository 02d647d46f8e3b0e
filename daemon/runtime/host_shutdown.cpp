// Host shutdown, the run: every VM of the plan stopped at once, the events each stop
// published read back to tell a guest that powered off from one that was killed, and the
// report kept in <stateDir>/host-shutdown.json.
#include "daemon/runtime/host_shutdown.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <map>
#include <memory>

#include "daemon/async/blocking.hpp"
#include "daemon/runtime/registry.hpp"
#include "daemon/store/atomic_file.hpp"

namespace qmd::daemon {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// What the parallel stops share: their results, and a latch set when the last one ends.
struct Progress {
  explicit Progress(asio::any_io_executor ex, std::size_t count) : left(count), all_done(ex) {}
  std::size_t left;
  Latch all_done;
  std::map<std::string, std::optional<std::string>> errors;  // name -> the stop's error
  std::map<std::string, std::chrono::milliseconds> took;
};

std::optional<std::chrono::seconds> grace_of(const DaemonContext& ctx, const Vm& vm) {
  auto spec = parse_definition(ctx, vm.spec_text(), vm.name());
  if (!spec || !spec->termination_grace_period_seconds) {
    return std::nullopt;
  }
  return std::chrono::seconds{*spec->termination_grace_period_seconds};
}

asio::awaitable<void> sleep_for(std::chrono::milliseconds delay) {
  asio::steady_timer timer(co_await asio::this_coro::executor, delay);
  boost::system::error_code ec;
  co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

// A migrating VM may leave (the migration finishes) until `until`; one that is still here
// then is killed, one that stayed (the migration failed) is stopped with what is left.
asio::awaitable<OpResult> stop_migrating(std::shared_ptr<Vm> vm, ShutdownPlanEntry entry,
                                         Clock::time_point until) {
  // Rare (a migration at the moment the host goes down): a look every half second is enough.
  while (vm->state() == VmState::migrating && Clock::now() < until) {
    co_await sleep_for(500ms);
  }
  if (vm->state() == VmState::migrating) {
    co_return co_await vm->kill();
  }
  const auto left = std::chrono::duration_cast<std::chrono::seconds>(until - Clock::now());
  const auto grace = std::clamp(left, 0s, entry.grace);
  co_return co_await vm->stop(grace);
}

// Saved to disk within the timeout; a VM that cannot be saved (hotplugged devices, a
// non-migratable CPU, a full disk) is powered off with what is left of it instead.
asio::awaitable<OpResult> suspend_or_stop(std::shared_ptr<Vm> vm, ShutdownPlanEntry entry,
                                          Clock::time_point until) {
  // The save may take what is left but the VM's grace (at most half), so that a guest that
  // cannot be saved still gets a power-off rather than a kill.
  const auto left = std::chrono::duration_cast<std::chrono::seconds>(until - Clock::now());
  const auto within = left - std::min(entry.grace, left / 2);
  auto saved = co_await vm->suspend_to_disk(std::max(within, 1s));
  if (saved || vm->has_saved_state()) {
    co_return saved;  // saved (QEMU quit or was killed): never resumed over its saved state
  }
  spdlog::warn("host shutdown: VM {} is powered off instead: {}", entry.name,
               saved.error().message);
  if (vm->state() == VmState::paused) {
    (void)co_await vm->resume();
  }
  const auto rest = std::chrono::duration_cast<std::chrono::seconds>(until - Clock::now());
  co_return co_await vm->stop(std::clamp(rest, 0s, entry.grace));
}

asio::awaitable<void> stop_one(std::shared_ptr<Vm> vm, ShutdownPlanEntry entry,
                               Clock::time_point timeout_at, std::shared_ptr<Progress> progress) {
  const auto began = Clock::now();
  OpResult done;
  if (entry.step == ShutdownStep::await_migration) {
    done = co_await stop_migrating(vm, entry, timeout_at);
  } else if (entry.step == ShutdownStep::suspend) {
    done = co_await suspend_or_stop(vm, entry, timeout_at);
  } else {
    if (entry.step == ShutdownStep::resume_and_power_off) {
      auto resumed = co_await vm->resume();
      if (!resumed) {
        spdlog::warn("host shutdown: VM {} stays paused ({}); it will be quit",
                     entry.name, resumed.error().message);
      }
    }
    done = co_await vm->stop(entry.grace);
  }
  if (!done) {
    progress->errors[entry.name] = done.error().message;
  }
  progress->took[entry.name] =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - began);
  if (--progress->left == 0) {
    progress->all_done.set();
  }
}

// What each VM's events since `since` say about its stop. The bus keeps the last 2000
// events: a few per VM during a shutdown.
StopObservation observed(const EventBus& events, const std::string& vm,
                         std::chrono::system_clock::time_point since) {
  StopObservation seen;
  for (const auto& event : events.history(vm)) {
    if (event.time >= since) {
      observe_stop_event(event, seen);
    }
  }
  return seen;
}

// Publishes, logs and returns the results, in plan order.
std::vector<VmShutdownResult> results_of(DaemonContext& ctx, Registry& registry,
                                         const std::vector<ShutdownPlanEntry>& plan,
                                         Progress& progress,
                                         std::chrono::system_clock::time_point since) {
  std::vector<VmShutdownResult> out;
  for (const auto& entry : plan) {
    auto vm = registry.find(entry.name);
    const VmState after = vm ? vm->state() : VmState::stopped;
    const auto error = progress.errors.contains(entry.name)
                           ? progress.errors[entry.name]
                           : std::optional<std::string>();
    const StopObservation seen = observed(ctx.events, entry.name, since);
    VmShutdownResult result = classify_stop(entry, seen, after, error);
    const auto took = progress.took.find(entry.name);
    result.took = took != progress.took.end() ? took->second : std::chrono::milliseconds{0};
    if (result.outcome == ShutdownOutcome::failed && vm) {
      // qmd stopped waiting: whatever still runs goes now (the host is going down anyway).
      asio::co_spawn(ctx.executor, [vm]() -> asio::awaitable<void> {
        (void)co_await vm->kill();
      }, asio::detached);
    }
    const std::string message = fmt::format("host shutdown: {} ({})",
                                            outcome_name(result.outcome), result.detail);
    if (result.outcome == ShutdownOutcome::powered_off) {
      spdlog::info("VM {}: {}", entry.name, message);
    } else {
      spdlog::warn("VM {}: {}", entry.name, message);
    }
    ctx.events.publish(Event{std::chrono::system_clock::now(), entry.name, "HostShutdown",
                             std::string(state_name(after)), message});
    out.push_back(std::move(result));
  }
  return out;
}

}  // namespace

asio::awaitable<std::expected<HostShutdownReport, OpError>> HostShutdown::run(ReportText to_text) {
  if (running_) {
    co_return std::unexpected(op_error(OpError::Code::conflict,
                                       "a host shutdown of the guests is running already; "
                                       "wait for it (it ends within hostShutdown.timeout)"));
  }
  running_ = true;
  ctx_.host_shutting_down = true;
  struct Done {  // whatever way run() leaves, the next request and starts are possible again
    HostShutdown& self;
    ~Done() {
      self.running_ = false;
      self.ctx_.host_shutting_down = false;
    }
  } done{*this};
  const HostShutdownConfig config = ctx_.config.host_shutdown;
  HostShutdownReport report;
  report.action = config.action == HostShutdownConfig::Action::none      ? "none"
                  : config.action == HostShutdownConfig::Action::suspend ? "suspend"
                                                                         : "shutdown";
  report.timeout = config.timeout;
  const auto since = std::chrono::system_clock::now();
  report.started_at = format_time(since);
  const auto began = Clock::now();

  std::vector<ShutdownFacts> facts;
  for (const auto& vm : registry_.all()) {
    facts.push_back({.name = vm->name(), .state = vm->state(), .grace = grace_of(ctx_, *vm)});
  }
  const auto plan = plan_host_shutdown(facts, config);
  spdlog::info("host shutdown ({}): {} of {} VMs to {}, within {} s", report.action,
               plan.size(), facts.size(), report.action == "suspend" ? "save" : "power off",
               config.timeout.count());
  auto progress = std::make_shared<Progress>(ctx_.executor, plan.size());
  const auto timeout_at = began + config.timeout;
  for (const auto& entry : plan) {
    if (auto vm = registry_.find(entry.name)) {
      asio::co_spawn(ctx_.executor, stop_one(vm, entry, timeout_at, progress), asio::detached);
    } else if (--progress->left == 0) {
      progress->all_done.set();
    }
  }
  if (!plan.empty()) {
    (void)co_await progress->all_done.wait_for(host_shutdown_deadline(config));
  }
  report.vms = results_of(ctx_, registry_, plan, *progress, since);
  report.took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - began);
  report.finished_at = format_time(std::chrono::system_clock::now());

  const std::string path = ctx_.config.state_dir + "/host-shutdown.json";
  report.record_path = path;
  const std::string text = to_text(report) + "\n";
  auto write = [path, text] { return write_file_atomic(path, text, 0640); };
  auto written = co_await run_blocking(ctx_.blocking, std::move(write));
  if (!written) {
    report.record_path.clear();
    report.record_error = written.error();
    spdlog::error("host shutdown: cannot keep the report: {}", written.error());
  }
  co_return report;
}

}  // namespace qmd::daemon
