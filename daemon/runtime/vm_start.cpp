// Vm::start in steps: plan (uid, data volumes, render, host ports) -> directories and files ->
// network, host and sidecars -> QEMU (-S) and QMP -> pinning -> the migration's wait, or the
// guest's first run (restore, cont unless startStrategy is Paused) -> started.
// Each step adds to the Run what it made, and a failure tears down exactly that: no
// process, tap, socket or pidfile is left behind.
#include <fcntl.h>
#include <fmt/format.h>
#include <sched.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <algorithm>
#include <array>
#include <iterator>
#include <filesystem>

#include "daemon/host/hugetlbfs.hpp"
#include "daemon/host/tap.hpp"
#include "daemon/async/blocking.hpp"
#include "daemon/runtime/incoming_setup.hpp"
#include "daemon/runtime/disk_fds.hpp"
#include "daemon/runtime/tap_fds.hpp"
#include "daemon/runtime/ignition_file.hpp"
#include "daemon/runtime/seed_iso.hpp"
#include "daemon/runtime/start_decisions.hpp"
#include "policy/ignition.hpp"
#include "daemon/runtime/spec_paths.hpp"
#include "daemon/runtime/volume_sources.hpp"
#include "daemon/runtime/proc_files.hpp"
#include "daemon/runtime/qmp_listener.hpp"
#include "daemon/runtime/vm.hpp"
#include "daemon/store/atomic_file.hpp"
#include "daemon/store/dir_fd.hpp"
#include "daemon/store/remove_tree.hpp"
#include "daemon/launch/child_process.hpp"
#include "daemon/storage/vm_files.hpp"
#include "daemon/launch/file_tail.hpp"
#include "qmp/commands.hpp"

namespace qmd::daemon {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using std::chrono::milliseconds;

namespace {

constexpr std::size_t kTailLines = 20;

// The control socket swtpm listens on: `--ctrl type=unixio,path=X`.
std::string ctrl_socket_of(const cmdline::SidecarCommand& sidecar) {
  for (std::size_t i = 0; i + 1 < sidecar.argv.size(); ++i) {
    if (sidecar.argv[i] == "--ctrl") {
      const std::string& value = sidecar.argv[i + 1];
      const auto at = value.find("path=");
      if (at != std::string::npos) {
        return value.substr(at + 5, value.find(',', at) - (at + 5));
      }
    }
  }
  return {};
}

// `give` hands the directory to the VM's QEMU uid (the run dir, where QEMU makes its
// sockets); otherwise it stays qmd's and QEMU may only pass through it (the state dir holds
// qmd's own files; only the files in it that QEMU writes are QEMU's). Never through a link.
// A run dir another uid owns (the VM had another uid before) is made afresh: nothing that
// uid left there stays readable to this one.
std::optional<std::string> make_dir(const std::string& path,
                                    const std::optional<Credentials>& qemu, bool give) {
  PathOwner owner = self_owner();
  mode_t mode = 0750;
  if (qemu) {
    mode = give ? 0750 : 0711;
    if (give) {
      owner = PathOwner{qemu->uid, qemu->gid};
    }
  }
  struct stat st {};
  if (give && ::lstat(path.c_str(), &st) == 0 && st.st_uid != owner.uid) {
    if (auto removed = remove_tree(path); !removed) {
      return removed.error();
    }
  }
  if (auto made = make_dir_path(path, mode, owner); !made) {
    return made.error();
  }
  return std::nullopt;
}

// Hands what swtpm_setup (run as qmd) made in `path` to the QEMU user, through descriptors:
// a link planted in it is not followed.
void chown_tree(const std::string& path, const Credentials& owner) {
  auto parent = open_parent(path);
  if (!parent) {
    return;
  }
  if (UniqueFd dir = open_dir_nofollow(parent->first.get(), parent->second.c_str())) {
    chown_tree_at(dir.get(), PathOwner{owner.uid, owner.gid});
  }
}

// Before swtpm_setup manufactures a TPM (as qmd, which its CA needs), its state dir becomes
// qmd's again and empty: nothing the QEMU user left there (a link to a root file) is
// written through. There is no TPM state yet to lose: manufacturing runs only without it.
std::optional<std::string> fresh_tpm_dir(const std::string& path) {
  if (auto removed = remove_tree(path); !removed) {
    return removed.error();
  }
  if (auto made = make_dir_path(path, 0700, self_owner()); !made) {
    return made.error();
  }
  return std::nullopt;
}

// Whether `path` is there (a link too: it is not followed).
bool exists_nofollow(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

// swtpm_setup's EK and platform certificates come from swtpm_localca, whose default CA lives
// in /var/lib/swtpm-localca (root's). A qmd that is not root gets its own CA under its state
// dir; returns the swtpm_setup.conf to pass with --config, or what failed.
std::expected<std::string, std::string> user_localca_config(const std::string& state_dir) {
  const std::string dir = state_dir + "/swtpm-localca";
  auto made = make_dir_path(dir, 0700, self_owner());
  if (made) {
    made = make_dir_at(made->get(), "ca", 0700, self_owner(), dir + "/ca");
  }
  if (!made) {
    return std::unexpected(made.error());
  }
  const std::string setup_conf = dir + "/swtpm_setup.conf";
  const std::string ca_conf = dir + "/swtpm-localca.conf";
  auto written = write_file_atomic(
      ca_conf, fmt::format("statedir = {0}/ca\nsigningkey = {0}/ca/signkey.pem\n"
                           "issuercert = {0}/ca/issuercert.pem\ncertserial = {0}/ca/certserial\n",
                           dir));
  if (written) {
    written = write_file_atomic(
        setup_conf, fmt::format("create_certs_tool = /usr/bin/swtpm_localca\n"
                                "create_certs_tool_config = {}\n"
                                "create_certs_tool_options = /etc/swtpm-localca.options\n"
                                "active_pcr_banks = sha256\n",
                                ca_conf));
  }
  if (!written) {
    return std::unexpected(written.error());
  }
  return setup_conf;
}

// The log of this run, begun with `header`: truncated in place (no temporary to rename on a
// busy disk), never through a link; the state dir holding it is qmd's.
void begin_log(const std::string& path, const std::string& header) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0640));
  if (fd && ::fchmod(fd.get(), 0640) == 0) {
    (void)!::write(fd.get(), header.data(), header.size());
  }
}


LaunchSpec launch_spec(std::optional<Credentials> qemu, std::vector<std::string> argv,
                       std::string log) {
  LaunchSpec spec;
  spec.argv = std::move(argv);
  spec.log_path = std::move(log);
  spec.drop_to = std::move(qemu);
  return spec;
}

}  // namespace

// The paths were beneath a storage root when the spec was stored; a file may have gone, or
// a link taken its place, since.
OpResult Vm::check_paths_at_start() const {
  auto parsed = spec();
  if (!parsed) {
    return std::unexpected(parsed.error());
  }
  auto refused = check_user_paths(*parsed, storage_roots(ctx_.config), PathCheck::starting);
  auto unresolved = resolve_volume_sources(*parsed, storage::places_of(ctx_.config));
  refused.insert(refused.end(), unresolved.begin(), unresolved.end());
  if (refused.empty()) {
    return {};
  }
  return std::unexpected(
      OpError{OpError::Code::bad_spec, policy::to_string(refused), std::move(refused)});
}

asio::awaitable<OpResult> Vm::start() {
  if (auto movable = check_migration(VmAction::start); !movable) {
    co_return movable;
  }
  auto guard = co_await lock_.lock();
  restarts_ = 0;
  co_return co_await start_locked();
}

// Why this VM may not start now (deleted, the host going down, running, migrated away).
OpResult Vm::startable() const {
  if (retired_) {  // deleted (or handed over) while this start waited: a new VM may own the name
    return std::unexpected(op_error(
        OpError::Code::not_found, fmt::format("VM {} was deleted; it is not started", name_)));
  }
  if (ctx_.host_shutting_down) {
    return std::unexpected(op_error(
        OpError::Code::conflict,
        fmt::format("VM {} is not started: the guests are being shut down for the host "
                    "(qmctl shutdown-guests); start it once that has finished",
                    name_)));
  }
  if (verdict(VmAction::start, state_) == Verdict::moved_away) {
    return std::unexpected(op_error(
        OpError::Code::conflict,
        fmt::format("VM {} migrated to {} at {} and runs there; starting it here too would "
                    "run it twice (qmctl delete {} forgets this record)",
                    name_, record_.migrated_to, record_.migrated_at, name_)));
  }
  return check(VmAction::start);
}

// What one start runs, decided before anything is made (plan_start), and the clock of its
// steps: their time since it began, in qmd's log at debug level.
struct Vm::StartPlan {
  cmdline::RenderResult rendered;
  std::vector<policy::PortForward> forwards;  // interfaces[].ports with their host ports
  StartFrom from = StartFrom::boot;
  const IncomingStart* incoming = nullptr;  // the arrival's request (from == migration)
  std::string vm;
  std::chrono::steady_clock::time_point began = std::chrono::steady_clock::now();

  void mark(std::string_view step) const {
    const auto since = std::chrono::steady_clock::now() - began;
    spdlog::debug("VM {} start: {} at +{:.1f} ms", vm, step,
                  std::chrono::duration<double, std::milli>(since).count());
  }
};

// The steps in order, each stopping the start at its failure; fail_start then tears down
// what the steps added to the run. The last step is the migration's wait for an arrival,
// else the guest's first run.
asio::awaitable<OpResult> Vm::start_locked(const IncomingStart* incoming) {
  if (auto allowed = startable(); !allowed) {
    co_return allowed;
  }
  auto planned = co_await plan_start(incoming);
  if (!planned) {
    co_return std::unexpected(planned.error());
  }
  auto plan = std::make_shared<const StartPlan>(std::move(*planned));
  plan->mark("rendered");
  set_state(VmState::starting, "start requested");
  run_ = std::make_shared<Run>(ctx_.executor, paths().qga_socket(), agent_options());
  auto run = run_;
  run->migration.incoming = plan->from == StartFrom::migration;
  const std::array steps{&Vm::prepare_files, &Vm::start_host_side, &Vm::spawn_qemu,
                         plan->from == StartFrom::migration ? &Vm::begin_incoming
                                                            : &Vm::begin_guest};
  for (const StartStep step : steps) {
    auto pending = (this->*step)(plan, run);
    auto failed = co_await std::move(pending);
    if (failed) {
      const StartFailure failure = std::move(*failed);
      auto undone = co_await fail_start(run, failure);
      co_return undone;
    }
  }
  co_return OpResult{};
}

// A start refused before anything was made: the record keeps why.
std::unexpected<OpError> Vm::refuse_start(OpError error) {
  record_.last_error = error.message;
  save_record();
  return std::unexpected(std::move(error));
}

// The uid, the data volumes, the argv (with the host ports of its forwards) and where the
// guest comes from. Nothing here needs taking back: the uid and the claims stay the VM's.
asio::awaitable<std::expected<Vm::StartPlan, OpError>> Vm::plan_start(
    const IncomingStart* incoming) {
  StartPlan plan;
  plan.vm = name_;
  plan.incoming = incoming;
  plan.from = start_from(incoming != nullptr, has_saved_state());
  // An arrival has its uid from Registry::incoming (perhaps the source QEMU's), and its disks
  // hold the source's data, which an empty claim made here would not. Before the render: a
  // claim made now is a disk of this start.
  if (incoming == nullptr) {
    if (auto claimed = co_await claim_qemu_uid(); !claimed) {
      co_return refuse_start(claimed.error());
    }
    if (auto made = co_await make_data_volumes(); !made) {
      co_return refuse_start(made.error());
    }
  }
  auto rendered = render();
  if (!rendered) {
    co_return refuse_start(rendered.error());
  }
  if (auto refused = check_paths_at_start(); !refused) {
    co_return refuse_start(refused.error());
  }
  // Adoption finds this QEMU by the uuid it carries: a firmware.uuid set while the VM ran
  // becomes the record's now (the update was refused had another VM held it).
  if (const auto& parsed = parsed_spec().spec;
      parsed && parsed->domain.firmware.uuid && *parsed->domain.firmware.uuid != record_.uuid) {
    record_.uuid = *parsed->domain.firmware.uuid;
  }
  // A port another VM or process holds, with no range to fall back on, stops the start here.
  auto forwards = co_await choose_forwards();
  if (!forwards) {
    co_return refuse_start(forwards.error());
  }
  if (!forwards->empty()) {
    rendered = render(*forwards);
    if (!rendered) {
      co_return std::unexpected(rendered.error());
    }
  }
  // What this start runs, before the incoming adjustments: a later save compares it.
  record_.started_argv = argv_digest(*rendered);
  if (plan.from == StartFrom::saved_state) {
    if (auto refusal = saved_state_refusal(name_, record_.saved_at, record_.started_argv,
                                           record_.saved_argv)) {
      co_return refuse_start(op_error(OpError::Code::conflict, *refusal));
    }
  }
  // A state saved at host shutdown comes back through the same -incoming path.
  if (plan.from != StartFrom::boot) {
    IncomingStart saved;
    saved.machine_type = record_.saved_machine;
    if (auto adjusted = adjust_for_incoming(*rendered, incoming ? *incoming : saved); !adjusted) {
      co_return std::unexpected(adjusted.error());
    }
  }
  plan.rendered = std::move(*rendered);
  plan.forwards = std::move(*forwards);
  co_return plan;
}

// The run and state directories; the run holds the forwards' host ports from here.
asio::awaitable<std::optional<StartFailure>> Vm::prepare_files(
    std::shared_ptr<const StartPlan> plan, std::shared_ptr<Run> run) {
  const cmdline::VmPaths where = paths();
  const std::optional<Credentials> qemu = qemu_owner();
  if (auto bad = make_dir(where.run_dir, qemu, true)) {
    co_return StartFailure{"prepare", *bad};
  }
  if (auto bad = make_dir(where.state_dir, qemu, false)) {
    co_return StartFailure{"prepare", *bad};
  }
  co_await teardown(*run);  // stale sockets from a crash would confuse the waits below
  hold_forwards(*run, plan->forwards);
  auto written = co_await write_start_files(plan);
  if (!written) {
    plan->mark("files prepared");
  }
  co_return written;
}

// The files QEMU opens that qmd makes: prepared images, seeds, the Ignition file and (an
// arrival) the source's VARS. On the blocking pool, and only when there is something to make.
asio::awaitable<std::optional<StartFailure>> Vm::write_start_files(
    std::shared_ptr<const StartPlan> plan) {
  const cmdline::VmPaths where = paths();
  std::optional<storage::FileOwner> owner;
  if (const auto qemu = qemu_owner()) {
    owner = storage::FileOwner{qemu->uid, qemu->gid};
  }
  SeedBuild seeds;
  seeds.secrets_dir = secrets_dir(ctx_.config);
  seeds.run_dir = where.run_dir;
  if (owner) {
    seeds.owner = PathOwner{owner->uid, owner->gid};
  }
  auto parsed = spec();
  std::optional<std::string> ignition = parsed ? policy::ignition_data(*parsed) : std::nullopt;
  const cmdline::RenderResult& rendered = plan->rendered;
  const bool files_to_make =
      !rendered.prepare.empty() || !rendered.seeds.empty() || ignition.has_value();
  if (plan->incoming && plan->incoming->nvram) {
    // Before prepare: its copy_if_missing must keep the source's VARS, not the template.
    if (auto written = write_incoming_nvram(rendered, *plan->incoming->nvram, owner); !written) {
      co_return StartFailure{"prepare", written.error()};
    }
  }
  if (!files_to_make) {  // no wait for the pool, which other starts may keep busy
    co_return std::nullopt;
  }
  auto prepare = [plan, where, owner, seeds, ignition = std::move(ignition),
                  places = storage::PrepPlaces{storage_roots(ctx_.config), where.run_dir}] {
    auto failed = storage::prepare_files(plan->rendered, where.run_dir + "/prepare.log", 120s, {},
                                       owner, &places);
    if (!failed && ignition) {
      failed = write_ignition_file(*ignition, where, seeds.owner.value_or(self_owner()));
    }
    return failed ? failed : build_seeds(plan->rendered, seeds);
  };
  auto prepared = co_await run_blocking(ctx_.blocking, std::move(prepare));
  if (prepared) {
    co_return StartFailure{"prepare", *prepared};
  }
  co_return std::nullopt;
}

// What QEMU cannot do for itself, unprivileged and under spawn=deny: the NAT network's
// leases and guards, taps and hugetlbfs, then swtpm (and passt) as sidecars.
asio::awaitable<std::optional<StartFailure>> Vm::start_host_side(
    std::shared_ptr<const StartPlan> plan, std::shared_ptr<Run> /*run*/) {
  if (auto failed = co_await attach_nat(plan->rendered)) {
    co_return StartFailure{"network", *failed};
  }
  if (auto failed = prepare_host(plan->rendered)) {
    co_return StartFailure{"host", *failed};
  }
  if (auto failed = co_await start_swtpm(plan->rendered)) {
    co_return StartFailure{"sidecars", *failed};
  }
  plan->mark("host and sidecars ready");
  co_return std::nullopt;
}

// QEMU with -S, its QMP connection, its events and console, then the vCPUs' pinning.
asio::awaitable<std::optional<StartFailure>> Vm::spawn_qemu(std::shared_ptr<const StartPlan> plan,
                                                            std::shared_ptr<Run> run) {
  if (auto failed = co_await start_qemu(plan->rendered)) {
    co_return StartFailure{"qemu", *failed};
  }
  plan->mark("QEMU spawned");
  if (auto failed = co_await connect_qmp(30s)) {
    co_return StartFailure{"qmp", *failed};
  }
  plan->mark("QMP greeted, capabilities negotiated");
  watch_events();
  const std::string heading = plan->from == StartFrom::migration ? "incoming" : "started";
  co_await keep_console(heading);
  plan->mark("console kept");
  if (plan->rendered.pinning.dedicated) {
    auto cpus = co_await qmp::query_cpus_fast(*run->qmp);
    if (!cpus) {
      co_return StartFailure{"pinning", cpus.error().to_string()};
    }
    if (auto failed = apply_pinning(plan->rendered, *cpus)) {
      co_return StartFailure{"pinning", *failed};
    }
  }
  co_return std::nullopt;
}

// An arrival: QEMU listens for the migration stream; vm_incoming.cpp follows it from here.
asio::awaitable<std::optional<StartFailure>> Vm::begin_incoming(
    std::shared_ptr<const StartPlan> plan, std::shared_ptr<Run> run) {
  const IncomingStart& incoming = *plan->incoming;
  auto listening = co_await listen_incoming(*run->qmp, incoming, ctx_.blocking);
  if (!listening) {
    co_return StartFailure{"incoming", listening.error()};
  }
  run->started_at = format_time(std::chrono::system_clock::now());
  set_state(VmState::migrating,
            fmt::format("QEMU {} (pid {}) waiting for the migration stream on {}",
                        run->qemu_version, run->qemu->pid(), incoming.uri));
  auto self = shared_from_this();
  auto supervise_run = [self, run] { return self->supervise(run); };
  asio::co_spawn(ctx_.executor, std::move(supervise_run), asio::detached);
  auto watch = [self, run, timing = incoming] { return self->watch_incoming(run, timing); };
  asio::co_spawn(ctx_.executor, std::move(watch), asio::detached);
  co_return std::nullopt;
}

// The guest's first run: a saved state restored, the vCPUs let go unless it begins paused
// (startStrategy: Paused keeps QEMU's -S; a restored guest comes back as it was saved).
asio::awaitable<std::optional<StartFailure>> Vm::begin_guest(
    std::shared_ptr<const StartPlan> plan, std::shared_ptr<Run> run) {
  const bool restoring = plan->from == StartFrom::saved_state;
  if (restoring) {
    if (auto failed = co_await restore_stream(run)) {
      co_return StartFailure{
          "restore", fmt::format("{}; the saved state stays in {}: start again once the cause "
                                 "is fixed, or `qmctl discard-saved {}` to boot afresh",
                                 *failed, saved_state_path(), name_)};
    }
  }
  const bool paused =
      starts_paused(plan->from, record_.saved_paused, plan->rendered.start_paused);
  if (!paused) {
    if (auto done = co_await qmp::cont(*run->qmp); !done) {
      co_return StartFailure{"cont", done.error().to_string()};
    }
    plan->mark("cont returned");
  }
  if (restoring) {
    co_await finish_restore();
  }
  mark_started(run, paused);
  plan->mark("marked started");
  co_return std::nullopt;
}

// The rollback of a start: whatever the steps added to `run` goes, and the VM is stopped
// with the failure as its last error.
asio::awaitable<OpResult> Vm::fail_start(std::shared_ptr<Run> run, StartFailure failure) {
  co_await teardown(*run);
  std::string text = describe(name_, failure);
  record_.last_error = text;
  save_record();
  run_.reset();
  set_state(VmState::stopped, text);
  // Named first: in one call, `std::move(text)` may empty it before the code is read.
  const OpError::Code code = start_failure_code(text);
  co_return std::unexpected(op_error(code, std::move(text)));
}

void Vm::mark_started(const std::shared_ptr<Run>& run, bool paused) {
  run->started_at = format_time(std::chrono::system_clock::now());
  record_.last_error.clear();
  record_.migrating_to.clear();  // a fresh QEMU migrates nowhere
  save_record();
  if (paused) {
    set_state(VmState::paused,
              fmt::format("QEMU {} started paused (pid {}): startStrategy is Paused, or it "
                          "was saved paused; qmctl resume {} runs it",
                          run->qemu_version, run->qemu->pid(), name_));
  } else {
    set_state(VmState::running, fmt::format("QEMU {} running (pid {})", run->qemu_version,
                                            run->qemu->pid()));
  }
  auto self = shared_from_this();
  asio::co_spawn(ctx_.executor, [self, run] { return self->supervise(run); }, asio::detached);
  asio::co_spawn(ctx_.executor, [self, run] { return self->watch_agent(run); }, asio::detached);
}

// Taps for bridge bindings (and masquerade on the NAT network) and the 1Gi hugetlbfs mount:
// what QEMU, unprivileged and under spawn=deny, cannot do for itself.
std::optional<std::string> Vm::prepare_host(const cmdline::RenderResult& rendered) {
  for (const auto& plan : rendered.taps) {
    const auto bridge = ctx_.config.bridges.find(plan.network);
    if (!plan.nat && bridge == ctx_.config.bridges.end()) {
      return fmt::format("network {} has no bridge in qmd.yaml's bridges", plan.network);
    }
    const TapSpec tap{plan.name, plan.nat ? ctx_.config.network.nat.bridge : bridge->second,
                      plan.queues, plan.vhost};
    auto made = create_tap(tap);
    if (!made) {
      return made.error();
    }
    run_->network.taps.push_back(plan.name);
    run_->network.opened_taps.push_back(std::move(*made));
  }
  const auto args = rendered.argv.args();
  const bool wants_1g = std::ranges::any_of(args, [](const std::string& arg) {
    return arg.find("/dev/hugepages1G") != std::string::npos;
  });
  if (wants_1g) {
    if (auto mounted = ensure_hugetlbfs_1g(); !mounted) {
      return mounted.error();
    }
  }
  return std::nullopt;
}

asio::awaitable<std::optional<std::string>> Vm::start_swtpm(
    const cmdline::RenderResult& rendered) {
  const cmdline::VmPaths where = paths();
  for (const auto& sidecar : rendered.sidecars) {
    const std::string log = fmt::format("{}/{}.log", where.run_dir, sidecar.name);
    if (sidecar.run_once) {
      if (!sidecar.skip_if_exists.empty() && exists_nofollow(sidecar.skip_if_exists)) {
        continue;
      }
      for (bool persistent : {true, false}) {
        const std::string tpm_dir = where.tpm_state_dir(persistent);
        if (sidecar.skip_if_exists.starts_with(tpm_dir + "/")) {
          if (auto failed = fresh_tpm_dir(tpm_dir)) {
            co_return fmt::format("{}: {}", sidecar.name, *failed);
          }
        }
      }
      // swtpm_setup runs as qmd (its CA files are root's); the state it makes is handed to
      // the QEMU user below.
      std::vector<std::string> argv = sidecar.argv;
      if (::geteuid() != 0) {
        auto config = user_localca_config(ctx_.config.state_dir);
        if (!config) {
          co_return fmt::format("{}: the local CA for TPM certificates: {}", sidecar.name,
                                config.error());
        }
        argv.push_back("--config");
        argv.push_back(*config);
      }
      auto setup = [argv = std::move(argv), log] {
        return run_to_completion(argv, log, 60s);
      };
      auto done = co_await run_blocking(ctx_.blocking, std::move(setup));
      if (!done) {
        co_return fmt::format("{}: {}", sidecar.name, done.error());
      }
      continue;
    }
    if (sidecar.own_sandbox) {
      if (auto failed = co_await start_passt(sidecar)) {
        co_return failed;
      }
      continue;
    }
    const std::optional<Credentials> qemu = qemu_owner();
    if (qemu) {
      chown_tree(where.tpm_state_dir(true), *qemu);
      chown_tree(where.tpm_state_dir(false), *qemu);
      // swtpm opens its --log file (this same file) itself, after dropping to the QEMU uid;
      // left to the launcher it is root's 0640, and swtpm exits 1 without a word.
      const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW,
                            0640);
      if (fd >= 0) {
        (void)::fchown(fd, qemu->uid, qemu->gid);
        ::close(fd);
      }
    }
    auto launched = launch(launch_spec(qemu, sidecar.argv, log));
    if (!launched) {
      co_return fmt::format("{}: {}", sidecar.name, launched.error());
    }
    run_->swtpm.emplace(ctx_.executor, launched->pid, launched->pidfd, true);
    const std::string ctrl = ctrl_socket_of(sidecar);
    const auto until = std::chrono::steady_clock::now() + 10s;
    while (!ctrl.empty() && !is_socket(ctrl)) {
      const bool gone = co_await run_->swtpm->wait_exit_for(20ms);
      if (gone) {
        co_return fmt::format("{} {} before creating {}; log:\n{}", sidecar.name,
                              run_->swtpm->describe(), ctrl, file_tail(log, kTailLines));
      }
      if (std::chrono::steady_clock::now() > until) {
        co_return fmt::format("{}: control socket {} did not appear within 10 s; log:\n{}",
                              sidecar.name, ctrl, file_tail(log, kTailLines));
      }
    }
  }
  co_return std::nullopt;
}

// QEMU's argv with every disk image passed as a descriptor qmd opened (disk_fds.hpp).
std::expected<Vm::DiskDescriptors, std::string> Vm::disk_descriptors(
    const std::vector<std::string>& args) const {
  DiskDescriptors out;
  const auto files = disk_files(args);
  std::vector<std::string> claim_devices;  // storage.claimDevices: outside the roots
  for (const auto& [claim, device] : ctx_.config.claim_devices) {
    claim_devices.push_back(device);
  }
  std::vector<std::vector<int>> numbers;
  for (const auto& file : files) {
    auto opened = open_disk_image(file.filename, file.readonly, storage_roots(ctx_.config),
                                  paths().run_dir, claim_devices);
    if (!opened) {
      return std::unexpected(fmt::format("disk {}: {}", file.node.substr(5), opened.error()));
    }
    out.images.push_back(file.filename);
    auto& set = numbers.emplace_back();
    for (auto& fd : *opened) {
      set.push_back(fd.get());
      out.fds.push_back(std::move(fd));
    }
  }
  out.args = with_fdsets(args, files, numbers);
  return out;
}

asio::awaitable<std::optional<std::string>> Vm::start_qemu(
    const cmdline::RenderResult& rendered) {
  auto disks = disk_descriptors(rendered.argv.args());
  if (!disks) {
    co_return disks.error();
  }
  // The taps' descriptors go to QEMU with the disks'; qmd's copies close once it runs.
  std::vector<devices::TapFds> tap_numbers;
  for (auto& opened : run_->network.opened_taps) {
    tap_numbers.push_back(fd_numbers(opened));
    for (auto* set : {&opened.queues, &opened.vhost}) {
      std::ranges::move(*set, std::back_inserter(disks->fds));
    }
  }
  run_->network.opened_taps.clear();
  auto on_taps = with_tap_fds(disks->args, rendered.taps, tap_numbers);
  if (!on_taps) {
    co_return on_taps.error();
  }
  // QMP's socket is qmd's, listening before QEMU runs: connect_qmp need not wait for it.
  const std::string qmp_socket = paths().qmp_socket();
  auto monitor = listen_for_monitor(qmp_socket);
  if (!monitor) {
    co_return monitor.error();
  }
  auto args = with_monitor_fd(*on_taps, qmp_socket, monitor->get());
  if (!args) {
    co_return args.error();
  }
  std::vector<std::string> argv{rendered.binary};
  argv.insert(argv.end(), args->begin(), args->end());
  const std::string log = log_path();
  LaunchSpec spec = launch_spec(qemu_owner(), std::move(argv), log);
  spec.env = rendered.env;
  for (const auto& fd : disks->fds) {
    spec.keep_fds.push_back(fd.get());
  }
  spec.keep_fds.push_back(monitor->get());
  // Each start begins the log anew with a header, so `qmctl logs` shows this run.
  std::string header = fmt::format("--- qmd: start {} at {} ---\n", name_,
                                   format_time(std::chrono::system_clock::now()));
  // launch() waits for QEMU's execve: on the pool, so the loop serves other starts meanwhile.
  // The descriptors are QEMU's from then on; qmd's copies close with the job.
  auto spawn = [spec = std::move(spec), header = std::move(header),
                fds = std::move(disks->fds), monitor = std::move(*monitor)] {
    begin_log(spec.log_path, header);
    return launch(spec);
  };
  auto launched = co_await run_blocking(ctx_.blocking, std::move(spawn));
  if (!launched) {
    co_return launched.error();
  }
  run_->qemu.emplace(ctx_.executor, launched->pid, launched->pidfd, true);
  run_->disk_images = std::move(disks->images);
  const cmdline::VmPaths where = paths();
  if (auto saved = replace_file(where.run_dir + "/qemu.pid", fmt::format("{}\n", launched->pid),
                                0644);
      !saved) {
    co_return saved.error();
  }
  co_return std::nullopt;
}

asio::awaitable<std::optional<std::string>> Vm::connect_qmp(milliseconds limit) {
  auto run = run_;
  const std::string socket = paths().qmp_socket();
  const auto until = std::chrono::steady_clock::now() + limit;
  std::string last;
  for (;;) {
    if (run->qemu->exited()) {
      break;
    }
    if (is_socket(socket)) {
      // The socket listens before QEMU accepts (start_qemu): the handshake may take until
      // QEMU is up, and a QEMU that dies first resets the connection.
      const qmp::QmpOptions options = qmp_options();
      const auto left = std::max(std::chrono::duration_cast<milliseconds>(
                                     until - std::chrono::steady_clock::now()),
                                 milliseconds(1));
      auto client = co_await qmp::QmpClient::connect(socket, left, options);
      if (client) {
        run->qmp.emplace(std::move(*client));
        const auto& greeting = run->qmp->greeting();
        run->qemu_version =
            fmt::format("{}.{}.{}", greeting.major, greeting.minor, greeting.micro);
        co_return std::nullopt;
      }
      last = client.error().to_string();
    }
    if (std::chrono::steady_clock::now() > until) {
      co_return fmt::format("no QMP connection on {} within {} s ({})", socket,
                            limit.count() / 1000, last.empty() ? "no socket" : last);
    }
    co_await run->qemu->wait_exit_for(20ms);
  }
  co_await run->qemu->wait_exit_for(2s);
  co_return fmt::format(
      "QEMU {} before answering on QMP; its output:\n{}", run->qemu->describe(),
      with_image_names(file_tail(log_path(), kTailLines), run->disk_images));
}

std::optional<std::string> Vm::apply_pinning(const cmdline::RenderResult& rendered,
                                             const std::vector<qmp::CpuInfo>& cpus) {
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (::sched_getaffinity(0, sizeof(allowed), &allowed) != 0) {
    return fmt::format("sched_getaffinity: {}", std::strerror(errno));
  }
  const std::size_t wanted = cpus.size() + (rendered.pinning.isolate_emulator_thread ? 1 : 0);
  std::vector<int> free;
  for (int cpu = 0; cpu < CPU_SETSIZE && free.size() < wanted; ++cpu) {
    if (CPU_ISSET(cpu, &allowed) && !ctx_.pinned_cpus.contains(cpu)) {
      free.push_back(cpu);
    }
  }
  if (free.size() < wanted) {
    return fmt::format("dedicatedCpuPlacement needs {} free host CPUs; {} are left (other "
                       "VMs hold {})",
                       wanted, free.size(), ctx_.pinned_cpus.size());
  }
  for (std::size_t i = 0; i < cpus.size(); ++i) {
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(free[i], &one);
    if (::sched_setaffinity(static_cast<pid_t>(cpus[i].thread_id), sizeof(one), &one) != 0) {
      return fmt::format("pin vCPU {} (thread {}) to host CPU {}: {}", cpus[i].cpu_index,
                         cpus[i].thread_id, free[i], std::strerror(errno));
    }
  }
  if (rendered.pinning.isolate_emulator_thread) {
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(free.back(), &one);
    ::sched_setaffinity(run_->qemu->pid(), sizeof(one), &one);
  }
  for (int cpu : free) {
    ctx_.pinned_cpus.insert(cpu);
  }
  run_->pinned = free;
  return std::nullopt;
}

}  // namespace qmd::daemon
