// The transfer of an outgoing live migration, phase by phase: QEMU set up, the disks mirrored
// (copyStorage), the RAM sent and followed look by look, the switchover confirmed with the
// destination, then the hand-over; on any failure the migration cancelled, the destination
// cleaned and this VM running again, or past the postcopy switch both sides left for a person.
#include "daemon/runtime/vm_migrate_follow.hpp"

#include <fmt/format.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>
#include <filesystem>
#include <limits>

#include "daemon/migration/decisions.hpp"
#include "daemon/migration/source_handover.hpp"
#include "daemon/store/remove_tree.hpp"
#include "qmp/commands.hpp"

namespace qmd::daemon {

namespace json = boost::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Kind = SourceMigration::Step::Kind;

namespace {

// The operation's figures (vm_migrate.cpp made them a MigrationProgress).
MigrationProgress& figures(Operation& op) { return std::get<MigrationProgress>(op.progress); }

// Merged, not replaced: a figure QEMU no longer reports keeps its last value.
void add_look(MigrationProgress& out, const qmp::MigrationInfo& info,
              std::uint32_t downtime_limit) {
  out.status = info.status;
  if (info.ram) {
    out.bytes_sent = info.ram->transferred;
    out.bytes_remaining = info.ram->remaining;
    out.bytes_total = info.ram->total;
    out.dirty_pages_rate = info.ram->dirty_pages_rate;
    out.passes = info.ram->passes;
  }
  for (const auto& [field, value] :
       {std::pair{&out.expected_downtime_ms, info.expected_downtime},
        std::pair{&out.downtime_ms, info.downtime}, std::pair{&out.total_time_ms, info.total_time},
        std::pair{&out.setup_time_ms, info.setup_time}}) {
    if (value) {
      *field = *value;
    }
  }
  out.downtime_limit_ms = downtime_limit;
}

SourceMigration::Step failed(std::string why) {
  return {.kind = Kind::failed, .why = std::move(why)};
}

std::int64_t ms_between(std::chrono::steady_clock::time_point from,
                        std::chrono::steady_clock::time_point to) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(to - from).count();
}

}  // namespace

SourceMigration::SourceMigration(std::shared_ptr<Vm> vm, AsyncMutex::Guard guard,
                                 std::shared_ptr<Vm::Run> run, std::shared_ptr<Operation> op,
                                 Operations& operations, Vm::MigrateOptions options,
                                 Vm::MigrationTarget target, bool was_running)
    : vm_(std::move(vm)),
      guard_(std::move(guard)),
      run_(std::move(run)),
      op_(std::move(op)),
      operations_(operations),
      options_(std::move(options)),
      target_(std::move(target)),
      was_running_(was_running),
      downtime_limit_(options_.downtime_limit_ms) {}

void SourceMigration::start(std::shared_ptr<SourceMigration> migration) {
  auto executor = migration->vm_->ctx_.executor;
  auto follow = [migration]() { return migration->follow(); };
  boost::asio::co_spawn(executor, std::move(follow), boost::asio::detached);
}

asio::awaitable<void> SourceMigration::follow() {
  auto self = shared_from_this();
  // Every end clears it (an adopting qmd acts on it).
  vm_->record_.migrating_to = options_.destination;
  vm_->save_record();
  began_ = std::chrono::steady_clock::now();
  wake_ = std::make_shared<asio::steady_timer>(vm_->ctx_.executor);
  run_->migration.wake = wake_;
  op_->on_cancel = [wake = wake_] { wake->cancel(); };
  Step step = co_await set_up();
  if (step.kind == Kind::next && !target_.disks.empty()) {
    step = co_await copy_storage();
  }
  if (step.kind == Kind::next) {
    step = co_await transfer();
  }
  if (step.kind == Kind::transferred && !committed_) {
    step = co_await hand_over();
  }
  run_->migration.wake.reset();
  step = co_await recheck_switch(step);
  if (step.kind == Kind::split) {
    end_split(step);
  } else if (step.kind == Kind::unknown) {
    end_paused("unknown", step.why);
  } else if (step.kind == Kind::failed) {
    co_await roll_back(step);
  } else {
    co_await succeeded();
  }
}

asio::awaitable<SourceMigration::Step> SourceMigration::set_up() {
  auto& qmp = *run_->qmp;
  std::vector<qmp::MigrationCapability> capabilities{{"events", true},
                                                     {"pause-before-switchover", true},
                                                     {"auto-converge", options_.auto_converge},
                                                     {"postcopy-ram", options_.postcopy},
                                                     {"multifd", options_.multifd_channels > 0}};
  if (auto set = co_await qmp::migrate_set_capabilities(qmp, capabilities); !set) {
    co_return failed("migrate-set-capabilities: " + set.error().to_string());
  }
  json::object parameters;
  // QEMU's own default bandwidth is 128 MiB/s; "unlimited" has to be said explicitly.
  parameters["max-bandwidth"] = options_.max_bandwidth == 0
                                    ? std::numeric_limits<std::int64_t>::max()
                                    : static_cast<std::int64_t>(options_.max_bandwidth);
  parameters["downtime-limit"] = downtime_limit_;
  // After the switch to postcopy QEMU uses its own bandwidth cap (default: none).
  parameters["max-postcopy-bandwidth"] = static_cast<std::int64_t>(options_.postcopy_bandwidth);
  if (options_.multifd_channels > 0) {
    parameters["multifd-channels"] = options_.multifd_channels;
  }
  if (auto set = co_await qmp::migrate_set_parameters(qmp, parameters); !set) {
    co_return failed("migrate-set-parameters: " + set.error().to_string());
  }
  if (target_.tls) {
    auto secured = co_await migrate_tls::enable(qmp, *target_.tls, vm_->ctx_.blocking);
    if (!secured) {
      co_return failed(secured.error());
    }
  }
  co_return Step{};
}

// The disks first: RAM goes once every mirror has caught up and writes reach both sides.
asio::awaitable<SourceMigration::Step> SourceMigration::copy_storage() {
  auto& qmp = *run_->qmp;
  op_->phase = "copying storage";
  const std::string nbd_creds = migrate_tls::creds_id(target_.tls);
  auto mirrored = co_await storage::start_mirrors(qmp, target_.disks, target_.nbd, nbd_creds);
  if (!mirrored) {
    co_return failed(mirrored.error());
  }
  const auto mirror_began = std::chrono::steady_clock::now();
  for (;;) {
    auto state = co_await storage::mirror_state(qmp, target_.disks);
    figures(*op_).storage_bytes_done = state.done;
    figures(*op_).storage_bytes_total = state.total;
    if (!state.error.empty()) {
      co_return failed(state.error);
    }
    if (state.ready) {
      co_return Step{};
    }
    if (op_->cancel_requested) {
      co_return Step{.kind = Kind::failed, .status = "cancelled", .why = "cancelled on request"};
    }
    if (run_->exited.is_set()) {
      co_return failed("the source QEMU exited during the migration");
    }
    if (std::chrono::steady_clock::now() - mirror_began > options_.timeout) {
      co_return failed(
          fmt::format("the disks were not copied within {} s", options_.timeout.count()));
    }
    co_await wait_a_moment();
  }
}

asio::awaitable<void> SourceMigration::wait_a_moment() {
  wake_->expires_after(250ms);
  boost::system::error_code ec;
  co_await wake_->async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

asio::awaitable<SourceMigration::Step> SourceMigration::transfer() {
  const std::string uri = target_.uri;
  if (auto started = co_await qmp::migrate(*run_->qmp, uri); !started) {
    co_return failed(fmt::format("migrate {}: {}", uri, started.error().to_string()));
  }
  vm_->publish("MigrationStarted", fmt::format("sending to {} over {} (operation {})",
                                               options_.destination, uri, op_->id));
  op_->phase = "transferring";
  sending_since_ = std::chrono::steady_clock::now();
  last_check_ = sending_since_;
  for (;;) {
    run_->migration.event = false;
    Step step = co_await look();
    if (step.kind == Kind::again) {
      continue;
    }
    if (step.kind != Kind::next) {
      co_return step;
    }
    if (!run_->migration.event) {  // an event came while we asked: look again at once
      co_await wait_a_moment();
    }
  }
}

// One look at QEMU's migration, and what it calls for.
asio::awaitable<SourceMigration::Step> SourceMigration::look() {
  auto info = co_await qmp::query_migrate(*run_->qmp);
  // A reply read after supervise() saw QEMU exit may predate the exit: not acted on.
  std::string lost;
  if (source_gone()) {
    lost = "the source QEMU exited during the migration";
  } else if (!info) {
    lost = "query-migrate: " + info.error().to_string();
  }
  if (!lost.empty()) {
    const auto verdict = migration::lost_source(postcopy_switched_, lost);
    co_return Step{
        .kind = verdict.kind == migration::Verdict::Kind::split ? Kind::split : Kind::failed,
        .why = verdict.why};
  }
  // Merged, not replaced: a cancelled or failed migration reports no figures, and the last
  // ones it had are what a caller wants to see.
  add_look(figures(*op_), *info, downtime_limit_);
  using Verdict = migration::Verdict::Kind;
  const migration::Verdict verdict = migration::judge(
      {.status = info->status,
       .error_desc = info->error_desc,
       .postcopy_started = postcopy_started_,
       .postcopy_switched = postcopy_switched_,
       .cancel_requested = op_->cancel_requested,
       .cancel_sent = cancel_sent_,
       .timed_out = std::chrono::steady_clock::now() - sending_since_ > options_.timeout,
       .ended_why = ended_why_},
      options_.timeout);
  if (verdict.mark_switched) {
    mark_switched();
  }
  switch (verdict.kind) {
    case Verdict::completed:
      co_return Step{.kind = Kind::transferred};
    case Verdict::split:
      co_return Step{.kind = Kind::split, .why = verdict.why};
    case Verdict::failed:
    case Verdict::cancelled:
      co_return Step{.kind = Kind::failed,
                     .status = verdict.kind == Verdict::cancelled ? "cancelled" : "failed",
                     .why = verdict.why};
    case Verdict::cancel_now: {
      ended_why_ = verdict.why;
      cancel_sent_ = true;
      (void)co_await qmp::migrate_cancel(*run_->qmp);
      co_return Step{.kind = Kind::again};
    }
    case Verdict::switched_now: {
      Step switched = co_await at_switch();
      co_return switched;
    }
    case Verdict::go_on:
      break;
  }
  if (migration::time_for_alive_check(info->status,
                                      std::chrono::steady_clock::now() - last_check_)) {
    // A destination qmd that went away would leave its QEMU loading with nobody to hand the
    // VM to: notice it now rather than at the switchover.
    last_check_ = std::chrono::steady_clock::now();
    const std::string gone = co_await migration::destination_lost(*target_.destination, vm_->name_);
    if (!gone.empty()) {
      co_return failed(gone);
    }
  }
  if (info->status == "pre-switchover") {
    Step paused = co_await switchover();
    co_return paused;
  }
  if (info->status == "active" && info->ram) {
    co_await tune(*info);
  }
  co_return Step{};
}

// The guest's CPU state went to the destination; what memory it lacks there it pulls from here
// on demand. It can run there now, and nowhere else: hand it over at once instead of after the
// last page (which would keep it paused the whole time).
asio::awaitable<SourceMigration::Step> SourceMigration::at_switch() {
  const std::string& dest = options_.destination;
  op_->phase = "postcopy";
  op_->no_cancel = fmt::format(
      "postcopy has switched: the guest runs on {} and pulls the rest "
      "of its memory from here; it cannot come back",
      dest);
  auto early = co_await migration::take_at_switch(*target_.destination, vm_->name_, was_running_);
  if (early) {
    committed_ = true;
    handed_over_at_ = std::chrono::steady_clock::now();
    vm_->publish("MigrationPostcopy",
                 fmt::format("switched: the guest runs on {} while its memory follows", dest));
  } else {
    // Asked again once every page is there.
    vm_->publish("Error", fmt::format("the destination did not take the guest at the postcopy "
                                      "switch ({}); asking again when the transfer ends",
                                      early.error()));
  }
  co_return Step{.kind = Kind::again};
}

// The source is paused with everything sent but the last pass: go on only when the destination
// is alive and still loading. Over ssh each question costs a handshake of guest downtime, so a
// recent answer will do (a destination lost since then fails the hand-over, and the source
// resumes).
asio::awaitable<SourceMigration::Step> SourceMigration::switchover() {
  auto& qmp = *run_->qmp;
  op_->phase = "switchover";
  if (!paused_at_) {
    paused_at_ = std::chrono::steady_clock::now();
  }
  if (migration::ask_before_switchover(target_.destination->over_ssh(),
                                       std::chrono::steady_clock::now() - last_check_)) {
    const std::string not_ready =
        co_await migration::not_ready_for_switchover(*target_.destination, vm_->name_);
    if (!not_ready.empty()) {
      co_return failed("the destination is not ready for the switchover: " + not_ready);
    }
  }
  if (!target_.disks.empty()) {
    // The guest is paused: what the mirrors hold goes out now, then they end.
    if (auto finished = co_await storage::finish_mirrors(qmp, target_.disks); !finished) {
      co_return failed(finished.error());
    }
  }
  if (auto go = co_await qmp::migrate_continue(qmp, "pre-switchover"); !go) {
    co_return failed("migrate-continue: " + go.error().to_string());
  }
  co_return Step{};
}

asio::awaitable<void> SourceMigration::tune(qmp::MigrationInfo info) {
  const std::int64_t passes = info.ram->passes;
  const auto tuning = migration::tune({.postcopy_wanted = options_.postcopy,
                                       .postcopy_started = postcopy_started_,
                                       .passes = passes,
                                       .raised_at_pass = raised_at_pass_,
                                       .expected_downtime_ms = info.expected_downtime,
                                       .downtime_limit_ms = downtime_limit_,
                                       .max_downtime_ms = options_.max_downtime_ms});
  if (tuning.kind == migration::Tuning::Kind::start_postcopy) {
    if (auto switched = co_await run_->qmp->execute("migrate-start-postcopy"); switched) {
      postcopy_started_ = true;
      vm_->publish("MigrationPostcopyRequested",
                   fmt::format("pass {}: switching to postcopy at the next switchover", passes));
    }
  } else if (tuning.kind == migration::Tuning::Kind::raise_downtime) {
    const std::uint32_t next = tuning.new_limit_ms;
    json::object raise;
    raise["downtime-limit"] = next;
    raised_at_pass_ = passes;  // a refusal is not retried at every look either
    if (auto raised = co_await qmp::migrate_set_parameters(*run_->qmp, raise); raised) {
      downtime_limit_ = next;
      vm_->publish("MigrationDowntimeRaised",
                   fmt::format("pass {}: expected downtime {} ms; the limit is now {} ms", passes,
                               *info.expected_downtime, downtime_limit_));
    } else {
      spdlog::warn("vm {}: raising the downtime limit to {} ms: {}", vm_->name_, next,
                   raised.error().to_string());
    }
  }
}

// Everything arrived. The destination resumes the guest and owns it from here; only then does
// this side let go. A VM paused here arrives paused there.
asio::awaitable<SourceMigration::Step> SourceMigration::hand_over() {
  op_->phase = "handing over";
  auto result = co_await migration::hand_over(*target_.destination, vm_->name_, was_running_,
                                              postcopy_switched_);
  const std::string why = "the destination did not take over: " + result.refused;
  switch (result.outcome) {
    case migration::Handover::handed_over:
      co_return Step{.kind = Kind::handed_over};
    case migration::Handover::split:
      co_return Step{.kind = Kind::split, .why = why};
    case migration::Handover::rolled_back:
      co_return failed(why);
    case migration::Handover::paused_unknown:
      break;
  }
  co_return Step{.kind = Kind::unknown,
                 .why = fmt::format("the destination stopped answering during the hand-over "
                                    "({}); the VM stays paused here so that it never runs "
                                    "twice: if it runs on {}, qmctl delete --force {} here, "
                                    "otherwise qmctl resume {}",
                                    result.refused, options_.destination, vm_->name_, vm_->name_)};
}

// A failure noticed between two looks may have come after the switch (a migrate-continue that
// timed out but went through): QEMU says whether a rollback is still possible.
asio::awaitable<SourceMigration::Step> SourceMigration::recheck_switch(Step step) {
  if (step.kind != Kind::failed || !postcopy_started_ || postcopy_switched_ || source_gone()) {
    co_return step;
  }
  auto now = co_await qmp::query_migrate(*run_->qmp);
  if (!source_gone() && now &&
      migration::failure_was_after_switch(postcopy_started_, postcopy_switched_, now->status)) {
    mark_switched();
    co_return Step{.kind = Kind::split, .why = std::move(step.why)};
  }
  co_return step;
}

// Every way out but success and split: the source's migration stopped, the destination told
// to let go, this VM running again (if it was), and the operation says what happened.
asio::awaitable<void> SourceMigration::roll_back(Step step) {
  auto& qmp = *run_->qmp;
  op_->phase = "rolling back";
  std::string why = target_.tls ? migrate_tls::explain(step.why, *target_.tls) : step.why;
  auto info = co_await qmp::query_migrate(qmp);
  const migration::SourceRollback plan =
      migration::plan_source_rollback({.copying_disks = !target_.disks.empty(),
                                       .qemu_exited = run_->exited.is_set(),
                                       .status = info ? info->status : std::string(),
                                       .tls = target_.tls.has_value(),
                                       .was_running = was_running_});
  if (plan.abandon_mirrors) {
    co_await storage::abandon_mirrors(qmp, target_.disks);
  }
  if (plan.cancel_migration && !run_->exited.is_set()) {
    (void)co_await qmp::migrate_cancel(qmp);
  }
  const std::string not_told = co_await migration::tell_to_drop(*target_.destination, vm_->name_);
  why += not_told;
  for (int i = 0; i < 50 && !run_->exited.is_set(); ++i) {
    auto now = co_await qmp::query_migrate(qmp);
    if (!now || !migration::still_cancelling(now->status)) {
      break;
    }
    co_await run_->exited.wait_for(100ms);
  }
  if (plan.disable_tls && !run_->exited.is_set()) {
    // The creds off again, so that a later migration without TLS works.
    const std::string tls_dir = target_.tls->private_dir;
    co_await migrate_tls::disable(qmp, tls_dir);
  }
  if (plan.resume && !run_->exited.is_set()) {
    if (auto resumed = co_await qmp::cont(qmp); !resumed) {
      why += fmt::format("; resuming here failed: {} (qmctl resume {})",
                         resumed.error().to_string(), vm_->name_);
    }
  }
  if (vm_->run_ == run_ && !run_->exited.is_set()) {
    auto now = co_await qmp::query_status(qmp);
    vm_->set_state(now && now->running ? VmState::running : VmState::paused,
                   fmt::format("migration to {} {}: {}", options_.destination, step.status, why));
  }
  end_outgoing();
  vm_->publish(std::string(migration::failure_event(step.status)), why);
  operations_.finish(*op_, step.status, why);
}

// Past the point of no return: resuming here would run stale memory, and the destination lacks
// pages only this side had. Both stay as they are for a person.
void SourceMigration::end_split(const Step& step) {
  const std::string why = migration::split_message(step.why, options_.destination, vm_->name_);
  // Marked since the switch; a QEMU that exited meanwhile took the stale half with it
  // (supervise() cleared the mark then, and must not find it again).
  vm_->record_.split_memory = migration::split_mark(source_gone(), options_.destination);
  vm_->record_.last_error = why;
  vm_->save_record();
  end_paused("failed after the switch", why);
}

// The two ends that leave the source paused for a person rather than risk two guests.
void SourceMigration::end_paused(const char* phase, const std::string& why) {
  end_outgoing();
  op_->phase = phase;
  if (vm_->run_ == run_ && !run_->exited.is_set()) {
    vm_->set_state(VmState::paused, why);
  }
  vm_->publish("MigrationFailed", why);
  operations_.finish(*op_, "failed", why);
}

// Marked in the record at once, before anything else can wait: a qmd that dies, or a source
// QEMU that exits, from here on must find the VM marked (no resume, no restart).
void SourceMigration::mark_switched() {
  postcopy_switched_ = true;
  vm_->record_.split_memory =
      fmt::format("the guest switched to {} in a postcopy migration", options_.destination);
  vm_->save_record();
}

void SourceMigration::end_outgoing() {
  vm_->record_.migrating_to.clear();
  vm_->save_record();
}

// The destination runs the guest: this QEMU and swtpm go, and so do the persistent VARS and
// TPM state, which are the destination's now (and hold secrets).
asio::awaitable<void> SourceMigration::succeeded() {
  const auto handed_over = handed_over_at_.value_or(std::chrono::steady_clock::now());
  const std::int64_t elapsed = ms_between(began_, handed_over);
  const std::int64_t paused = ms_between(paused_at_.value_or(handed_over), handed_over);
  figures(*op_).elapsed_ms = elapsed;
  figures(*op_).paused_ms = paused;
  run_->stop_requested = true;
  (void)co_await qmp::quit(*run_->qmp);
  const bool quit = co_await run_->exited.wait_for(10s);
  if (!quit && run_->qemu) {
    run_->qemu->signal(SIGKILL);
    co_await run_->exited.wait_for(10s);
  }
  const cmdline::VmPaths where = vm_->paths();
  std::error_code ec;
  fs::remove(where.nvram(true), ec);
  (void)remove_tree(where.tpm_state_dir(true));
  auto& record = vm_->record_;
  record.migrated_to = options_.destination;
  record.migrated_at = format_time(std::chrono::system_clock::now());
  record.split_memory.clear();  // a postcopy that finished: nothing stale is left here
  record.migrating_to.clear();
  vm_->save_record();
  vm_->set_state(VmState::migrated, fmt::format("migrated to {} in {} ms (guest paused {} ms)",
                                                options_.destination, elapsed, paused));
  op_->phase = "done";
  operations_.finish(*op_, "succeeded");
}

}  // namespace qmd::daemon
