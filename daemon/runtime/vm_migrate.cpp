// The source side of a live migration: checks, the destination's preparation, then the
// transfer followed to the end — the switchover confirmed with the destination, and on any
// failure the migration cancelled, the destination cleaned and this VM running again.
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/json/serialize.hpp>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <utility>

#include "cmdline/core_configurators.hpp"
#include "daemon/migration/decisions.hpp"
#include "daemon/migration/peer_protocol.hpp"
#include "daemon/migration/remote_destination.hpp"
#include "daemon/migration/source_handover.hpp"
#include "daemon/runtime/migrate_storage.hpp"
#include "daemon/runtime/machine_type.hpp"
#include "daemon/runtime/vm_hotplug_core.hpp"
#include "daemon/store/dir_fd.hpp"
#include "daemon/store/remove_tree.hpp"
#include "policy/tsc.hpp"
#include "qmp/commands.hpp"
#include "qmp/qga_commands.hpp"

namespace qmd::daemon {

namespace json = boost::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

// Why this VM cannot move at all, in words; nullopt when it can.
std::optional<std::string> not_migratable(const policy::VmSpec& spec,
                                          const cmdline::RenderResult& rendered) {
  const auto& d = spec.domain;
  if (d.features.hyperv_passthrough && d.features.hyperv_passthrough->enabled != false) {
    return "hypervPassthrough hands the guest this host's Hyper-V features, which another "
           "host may not have";
  }
  if (d.cpu.model == "host-passthrough") {
    return "cpu.model host-passthrough exposes this host's exact CPU; use host-model or a "
           "named model to migrate";
  }
  if (d.cpu.numa_guest_mapping_passthrough.value_or(false)) {
    return "cpu.numa.guestMappingPassthrough maps the guest onto this host's NUMA nodes";
  }
  // QEMU refuses to migrate an invariant TSC whose frequency is not pinned, and a Windows
  // guest with hv-frequencies/hv-reenlightenment reads the frequency once, at boot.
  if (const auto* cpu = rendered.argv.find("-cpu");
      cpu != nullptr && cpu->value) {
    const std::string& model = *cpu->value;
    const bool tsc_sensitive = model.find("invtsc") != std::string::npos ||
                               model.find("hv-frequencies") != std::string::npos ||
                               model.find("hv-reenlightenment") != std::string::npos;
    if (tsc_sensitive && model.find("tsc-frequency=") == std::string::npos) {
      return "the guest relies on a fixed TSC frequency (invtsc, hv-frequencies or "
             "hv-reenlightenment) that is not pinned with tsc-frequency";
    }
  }
  return std::nullopt;
}

constexpr std::size_t kMaxVarsBytes = 64 << 20;  // OVMF VARS are 128 KiB to 4 MiB

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string host_name() {
  char name[256] = {};
  ::gethostname(name, sizeof(name) - 1);
  return name;
}

// Why the destination did not get ready, as the error of POST /v1/vms/NAME/migrate.
OpError prepare_refusal(const migration::PeerFailure& failure, const std::string& vm,
                        const std::string& where) {
  using Kind = migration::PeerFailure::Kind;
  if (failure.kind == Kind::unreachable) {
    return op_error(OpError::Code::unavailable, fmt::format("VM {}: {}", vm, failure.message));
  }
  if (failure.kind == Kind::malformed) {
    return op_error(OpError::Code::failed,
                    fmt::format("VM {}: the destination qmd at {}: {}", vm, where,
                                failure.message));
  }
  const auto code = failure.http_status == 409   ? OpError::Code::conflict
                    : failure.http_status == 400 ? OpError::Code::bad_request
                    : failure.http_status == 404 ? OpError::Code::not_found
                                                 : OpError::Code::failed;
  return op_error(code, fmt::format("the destination qmd at {} refused: {}", where,
                                    failure.message));
}

json::object progress_of(const qmp::MigrationInfo& info, std::uint32_t downtime_limit) {
  json::object out;
  out["status"] = info.status;
  if (info.ram) {
    out["bytesSent"] = info.ram->transferred;
    out["bytesRemaining"] = info.ram->remaining;
    out["bytesTotal"] = info.ram->total;
    out["dirtyPagesRate"] = info.ram->dirty_pages_rate;
    out["passes"] = info.ram->passes;
  }
  if (info.expected_downtime) {
    out["expectedDowntimeMs"] = *info.expected_downtime;
  }
  if (info.downtime) {
    out["downtimeMs"] = *info.downtime;
  }
  if (info.total_time) {
    out["totalTimeMs"] = *info.total_time;
  }
  if (info.setup_time) {
    out["setupTimeMs"] = *info.setup_time;
  }
  out["downtimeLimitMs"] = downtime_limit;
  return out;
}

}  // namespace

asio::awaitable<std::expected<std::shared_ptr<Operation>, OpError>> Vm::migrate(
    MigrateOptions options, Operations& operations) {
  auto guard = co_await lock_.lock();
  auto refuse = [this](OpError::Code code, std::string why) {
    return std::unexpected(op_error(code, fmt::format("VM {}: {}", name_, why)));
  };
  if (auto active = check_active("migrate"); !active) {
    co_return std::unexpected(active.error());
  }
  if (state_ != VmState::running && state_ != VmState::paused) {
    co_return refuse(OpError::Code::conflict,
                     fmt::format("cannot migrate while {}", state_name(state_)));
  }
  if (auto running = operations.running_on(name_)) {
    co_return refuse(OpError::Code::conflict,
                     fmt::format("operation {} is already under way", running->id));
  }
  if (!record_.split_memory.empty()) {
    co_return refuse(OpError::Code::conflict,
                     fmt::format("{}; its memory here is stale and cannot go anywhere "
                                 "(qmctl kill {})",
                                 record_.split_memory, name_));
  }
  auto parsed = spec();
  auto rendered = render();
  if (!parsed || !rendered) {
    co_return std::unexpected(parsed ? rendered.error() : parsed.error());
  }
  if (auto why = not_migratable(*parsed, *rendered)) {
    co_return refuse(OpError::Code::conflict, "not migratable: " + *why);
  }
  if (auto why = transient_devices(); !why.empty()) {
    co_return refuse(OpError::Code::conflict,
                     fmt::format("not migratable yet: devices changed by hotplug in this run "
                                 "({}) do not sit where the definition puts them; restart the "
                                 "VM (with --persist the change is in its definition), then "
                                 "migrate",
                                 why));
  }
  auto opened = co_await migration::RemoteDestination::open(ctx_.executor, options.destination,
                                                            ctx_.config);
  if (!opened) {
    co_return refuse(opened.error().bad_name ? OpError::Code::bad_request
                                             : OpError::Code::unavailable,
                     opened.error().message);
  }
  std::shared_ptr<migration::DestinationQmd> destination = std::move(*opened);
  auto run = run_;
  if (auto cpus = co_await qmp::query_cpus_fast(*run->qmp);
      cpus && cpus->size() != cmdline::boot_vcpus(*parsed)) {
    co_return refuse(OpError::Code::conflict,
                     fmt::format("not migratable yet: {} vCPUs run now but the definition "
                                 "boots {}; set-cpus back to {}, or restart the VM with the "
                                 "count in its definition",
                                 cpus->size(), cmdline::boot_vcpus(*parsed),
                                 cmdline::boot_vcpus(*parsed)));
  }

  // copyStorage: the local disks as QEMU has them, and the definition with the destination's
  // paths for them.
  MigrationTarget target;
  std::string spec_for_destination = spec_text_;
  if (options.copy_storage) {
    auto disks = co_await storage::local_disks(*run->qmp, *parsed, options.storage_paths);
    if (!disks) {
      co_return refuse(OpError::Code::failed, disks.error());
    }
    if (disks->empty()) {
      co_return refuse(OpError::Code::bad_request,
                       "copyStorage: the VM has no local disk (hostDisk or file volume)");
    }
    auto renamed = storage::rename_paths(spec_text_, options.storage_paths);
    if (!renamed) {
      co_return std::unexpected(renamed.error());
    }
    target.disks = std::move(*disks);
    spec_for_destination = std::move(*renamed);
  } else if (!options.storage_paths.empty()) {
    co_return refuse(OpError::Code::bad_request, "storagePaths needs copyStorage");
  }

  // What only this side knows: the machine type "q35" stands for here, and the VARS.
  migration::IncomingRequest body;
  body.spec_text = spec_for_destination;
  body.disks = target.disks;
  body.uuid = record_.uuid;
  body.source = fmt::format("{}:{}", host_name(), name_);
  const std::string wanted = parsed->domain.machine.type.value_or("q35");
  auto machine_type = co_await resolved_machine_type(*run->qmp, wanted);
  body.machine_type = machine_type;
  // A pinned TSC frequency, as QEMU runs it: after an earlier migration that is the first
  // host's, not what this host would render.
  if (auto* cpu_option = rendered->argv.find("-cpu"); cpu_option != nullptr && cpu_option->value) {
    if (const auto pinned = policy::cpu_tsc_frequency(*cpu_option->value)) {
      std::int64_t hz = static_cast<std::int64_t>(*pinned);
      auto vcpus = co_await qmp::query_cpus_fast(*run->qmp);
      if (vcpus && !vcpus->empty()) {
        std::string path = vcpus->front().qom_path;
        std::string property = "tsc-frequency";
        auto actual = co_await qmp::qom_get(*run->qmp, std::move(path), std::move(property));
        if (actual && actual->is_int64() && actual->as_int64() > 0) {
          hz = actual->as_int64();
        }
      }
      body.tsc_frequency = static_cast<std::uint64_t>(hz);
    }
  }
  for (const auto& prep : rendered->prepare) {
    if (prep.kind == cmdline::FilePrep::Kind::copy_if_missing) {
      // The VARS file is QEMU's and may sit in its run dir: never read through a link.
      auto vars = read_file_nofollow(prep.path, kMaxVarsBytes);
      body.nvram = vars ? *vars : std::string();
    }
  }
  if (options.postcopy) {
    body.capabilities.push_back("postcopy-ram");
  }
  if (options.multifd_channels > 0) {
    body.capabilities.push_back("multifd");
    body.multifd_channels = options.multifd_channels;
  }
  body.finish_within = options.timeout + std::chrono::seconds(60);
  body.transport = options.transport;
  body.tls = !ctx_.config.migration_tls_dir.empty();
  if (options.transport != "unix") {
    // A broken migration.tls here is refused before the destination starts anything.
    if (auto why = migrate_tls::unusable(ctx_.config, migrate_tls::Endpoint::client)) {
      co_return refuse(OpError::Code::conflict, *why);
    }
  }
  body.boot_id = read_bytes("/proc/sys/kernel/random/boot_id");
  if (!body.boot_id.empty() && body.boot_id.back() == '\n') {
    body.boot_id.pop_back();
  }
  auto answer = co_await destination->prepare(std::move(body));
  if (!answer) {
    co_return std::unexpected(prepare_refusal(answer.error(), name_, options.destination));
  }

  target.uri = answer->uri;
  target.destination = destination;
  std::optional<std::pair<uid_t, gid_t>> qemu_owner;
  if (ctx_.qemu_user) {
    qemu_owner.emplace(ctx_.qemu_user->uid, ctx_.qemu_user->gid);
  }
  target.tls = migrate_tls::for_uri(ctx_.config, paths().run_dir, target.uri,
                                    migrate_tls::Endpoint::client, qemu_owner);
  if (answer->nbd) {
    target.nbd = *answer->nbd;
  }

  auto op = operations.create("migrate", name_);
  op->phase = "starting";
  op->progress["destination"] = options.destination;
  const bool was_running = state_ == VmState::running;
  set_state(VmState::migrating, fmt::format("migrating to {} (operation {})",
                                            options.destination, op->id));
  auto self = shared_from_this();
  auto follow = [self, guard = std::move(guard), run, op, &operations, options,
                 target = std::move(target), was_running]() mutable {
    return self->follow_migration(std::move(guard), run, op, operations, std::move(options),
                                  std::move(target), was_running);
  };
  asio::co_spawn(ctx_.executor, std::move(follow), asio::detached);
  co_return op;
}

asio::awaitable<void> Vm::follow_migration(AsyncMutex::Guard guard, std::shared_ptr<Run> run,
                                           std::shared_ptr<Operation> op,
                                           Operations& operations, MigrateOptions options,
                                           MigrationTarget target, bool was_running) {
  auto& qmp = *run->qmp;
  const std::string& uri = target.uri;
  const auto& disks = target.disks;
  const std::string dest = options.destination;
  migration::DestinationQmd& remote = *target.destination;
  std::uint32_t downtime_limit = options.downtime_limit_ms;
  // Every failure sets these and leaves through the one rollback below (no early returns:
  // g++ 12 mishandles temporaries passed to coroutines inside co_await expressions).
  std::string fail_status = "failed";
  std::string fail_why;
  // Set when a postcopy migration fails after the switch: the guest's newest memory is on
  // both hosts and neither copy may run, so there is no rollback.
  std::string split_why;
  bool postcopy_started = false;   // migrate-start-postcopy asked for
  bool postcopy_switched = false;  // the source's CPUs stopped for good: no way back
  // Marked in the record at once, before anything else can wait: a qmd that dies, or a
  // source QEMU that exits, from here on must find the VM marked (no resume, no restart).
  auto mark_switched = [&] {
    postcopy_switched = true;
    record_.split_memory =
        fmt::format("the guest switched to {} in a postcopy migration", dest);
    save_record();
  };
  // Every end clears it (an adopting qmd acts on it).
  record_.migrating_to = dest;
  save_record();
  auto end_outgoing = [&] {
    record_.migrating_to.clear();
    save_record();
  };
  // A reply read after supervise() saw QEMU exit may predate the exit: not acted on.
  auto source_gone = [&] { return run->qemu_gone || run->exited.is_set(); };
  // The two ends that leave the source paused for a person rather than risk two guests.
  auto fail_paused = [&](const char* phase, const std::string& why) {
    end_outgoing();
    op->phase = phase;
    if (run_ == run && !run->exited.is_set()) {
      set_state(VmState::paused, why);
    }
    publish("MigrationFailed", why);
    operations.finish(*op, "failed", why);
  };

  // qmd's own clock beside QEMU's figures (which QEMU 7.2 leaves at 0 when block mirrors ran):
  // the whole operation, and how long the guest stood still from the switchover's pause
  // until the destination ran it.
  const auto operation_began = std::chrono::steady_clock::now();
  std::optional<std::chrono::steady_clock::time_point> paused_at;
  std::optional<std::chrono::steady_clock::time_point> handed_over_at;  // postcopy: early
  auto wake = std::make_shared<asio::steady_timer>(ctx_.executor);
  run->migration_wake = wake;
  op->on_cancel = [wake] { wake->cancel(); };
  do {
    std::vector<qmp::MigrationCapability> capabilities{
        {"events", true},
        {"pause-before-switchover", true},
        {"auto-converge", options.auto_converge},
        {"postcopy-ram", options.postcopy},
        {"multifd", options.multifd_channels > 0}};
    if (auto set = co_await qmp::migrate_set_capabilities(qmp, capabilities); !set) {
      fail_why = "migrate-set-capabilities: " + set.error().to_string();
      break;
    }
    json::object parameters;
    // QEMU's own default bandwidth is 128 MiB/s; "unlimited" has to be said explicitly.
    parameters["max-bandwidth"] =
        options.max_bandwidth == 0 ? std::numeric_limits<std::int64_t>::max()
                                   : static_cast<std::int64_t>(options.max_bandwidth);
    parameters["downtime-limit"] = downtime_limit;
    // After the switch to postcopy QEMU uses its own bandwidth cap (default: none).
    parameters["max-postcopy-bandwidth"] = static_cast<std::int64_t>(options.postcopy_bandwidth);
    if (options.multifd_channels > 0) {
      parameters["multifd-channels"] = options.multifd_channels;
    }
    if (auto set = co_await qmp::migrate_set_parameters(qmp, parameters); !set) {
      fail_why = "migrate-set-parameters: " + set.error().to_string();
      break;
    }
    if (target.tls) {
      if (auto secured = co_await migrate_tls::enable(qmp, *target.tls, ctx_.blocking); !secured) {
        fail_why = secured.error();
        break;
      }
    }
    const std::string nbd_creds = migrate_tls::creds_id(target.tls);
    if (!disks.empty()) {
      // The disks first: RAM goes once every mirror has caught up and writes reach both sides.
      op->phase = "copying storage";
      if (auto mirrored = co_await storage::start_mirrors(qmp, disks, target.nbd, nbd_creds);
          !mirrored) {
        fail_why = mirrored.error();
        break;
      }
      const auto mirror_began = std::chrono::steady_clock::now();
      for (;;) {
        auto state = co_await storage::mirror_state(qmp, disks);
        op->progress["storageBytesDone"] = state.done;
        op->progress["storageBytesTotal"] = state.total;
        if (!state.error.empty()) {
          fail_why = state.error;
        } else if (state.ready) {
          break;
        } else if (op->cancel_requested) {
          fail_status = "cancelled";
          fail_why = "cancelled on request";
        } else if (run->exited.is_set()) {
          fail_why = "the source QEMU exited during the migration";
        } else if (std::chrono::steady_clock::now() - mirror_began > options.timeout) {
          fail_why = fmt::format("the disks were not copied within {} s",
                                 options.timeout.count());
        }
        if (!fail_why.empty()) {
          break;
        }
        wake->expires_after(250ms);
        boost::system::error_code ec;
        co_await wake->async_wait(asio::redirect_error(asio::use_awaitable, ec));
      }
      if (!fail_why.empty()) {
        break;
      }
    }
    if (auto started = co_await qmp::migrate(qmp, uri); !started) {
      fail_why = fmt::format("migrate {}: {}", uri, started.error().to_string());
      break;
    }
    publish("MigrationStarted",
            fmt::format("sending to {} over {} (operation {})", dest, uri, op->id));
    op->phase = "transferring";
    const auto began = std::chrono::steady_clock::now();
    auto last_check = began;
    bool cancel_sent = false;
    bool committed = false;          // the destination runs the guest (postcopy: already)
    std::int64_t raised_at_pass = 0;
    std::string ended_why;  // why qmd cancelled: on request, or the timeout
    for (;;) {
      run->migration_event = false;
      auto info = co_await qmp::query_migrate(qmp);
      if (source_gone()) {
        (postcopy_switched ? split_why : fail_why) =
            "the source QEMU exited during the migration";
        break;
      }
      if (!info) {
        (postcopy_switched ? split_why : fail_why) =
            "query-migrate: " + info.error().to_string();
        break;
      }
      // Merged, not replaced: a cancelled or failed migration reports no figures, and the
      // last ones it had are what a caller wants to see.
      for (auto& [key, value] : progress_of(*info, downtime_limit)) {
        op->progress[key] = value;
      }
      using Kind = migration::Verdict::Kind;
      const migration::Look look{
          .status = info->status,
          .error_desc = info->error_desc,
          .postcopy_started = postcopy_started,
          .postcopy_switched = postcopy_switched,
          .cancel_requested = op->cancel_requested,
          .cancel_sent = cancel_sent,
          .timed_out = std::chrono::steady_clock::now() - began > options.timeout,
          .ended_why = ended_why};
      const migration::Verdict verdict = migration::judge(look, options.timeout);
      if (verdict.mark_switched) {
        mark_switched();
      }
      if (verdict.kind == Kind::completed) {
        break;
      }
      if (verdict.kind == Kind::split) {
        split_why = verdict.why;
        break;
      }
      if (verdict.kind == Kind::failed || verdict.kind == Kind::cancelled) {
        fail_status = verdict.kind == Kind::cancelled ? "cancelled" : "failed";
        fail_why = verdict.why;
        break;
      }
      if (verdict.kind == Kind::cancel_now) {
        ended_why = verdict.why;
        cancel_sent = true;
        (void)co_await qmp::migrate_cancel(qmp);
        continue;
      }
      if (verdict.kind == Kind::switched_now) {
        // The guest's CPU state went to the destination; what memory it lacks there it pulls
        // from here on demand. It can run there now, and nowhere else: hand it over at once
        // instead of after the last page (which would keep it paused the whole time).
        op->phase = "postcopy";
        op->no_cancel = fmt::format("postcopy has switched: the guest runs on {} and pulls "
                                    "the rest of its memory from here; it cannot come back",
                                    dest);
        auto early = co_await migration::take_at_switch(remote, name_, was_running);
        if (early) {
          committed = true;
          handed_over_at = std::chrono::steady_clock::now();
          publish("MigrationPostcopy",
                  fmt::format("switched: the guest runs on {} while its memory follows", dest));
        } else {
          // Asked again once every page is there.
          publish("Error", fmt::format("the destination did not take the guest at the postcopy "
                                       "switch ({}); asking again when the transfer ends",
                                       early.error()));
        }
        continue;
      }
      if (migration::time_for_alive_check(info->status,
                                          std::chrono::steady_clock::now() - last_check)) {
        // A destination qmd that went away would leave its QEMU loading with nobody to hand
        // the VM to: notice it now rather than at the switchover.
        last_check = std::chrono::steady_clock::now();
        auto lost = co_await migration::destination_lost(remote, name_);
        fail_why = std::move(lost);
        if (!fail_why.empty()) {
          break;
        }
      }
      if (info->status == "pre-switchover") {
        // The source is paused with everything sent but the last pass: go on only when the
        // destination is alive and still loading. Over ssh each question costs a handshake
        // of guest downtime, so a recent answer will do (a destination lost since then fails
        // the hand-over, and the source resumes).
        op->phase = "switchover";
        if (!paused_at) {
          paused_at = std::chrono::steady_clock::now();
        }
        std::string not_ready;
        if (migration::ask_before_switchover(remote.over_ssh(),
                                             std::chrono::steady_clock::now() - last_check)) {
          auto answer = co_await migration::not_ready_for_switchover(remote, name_);
          not_ready = std::move(answer);
        }
        if (!not_ready.empty()) {
          fail_why = "the destination is not ready for the switchover: " + not_ready;
          break;
        }
        if (!disks.empty()) {
          // The guest is paused: what the mirrors hold goes out now, then they end.
          if (auto finished = co_await storage::finish_mirrors(qmp, disks); !finished) {
            fail_why = finished.error();
            break;
          }
        }
        if (auto go = co_await qmp::migrate_continue(qmp, "pre-switchover"); !go) {
          fail_why = "migrate-continue: " + go.error().to_string();
          break;
        }
      } else if (info->status == "active" && info->ram) {
        const std::int64_t passes = info->ram->passes;
        const auto tuning = migration::tune({.postcopy_wanted = options.postcopy,
                                             .postcopy_started = postcopy_started,
                                             .passes = passes,
                                             .raised_at_pass = raised_at_pass,
                                             .expected_downtime_ms = info->expected_downtime,
                                             .downtime_limit_ms = downtime_limit,
                                             .max_downtime_ms = options.max_downtime_ms});
        if (tuning.kind == migration::Tuning::Kind::start_postcopy) {
          if (auto switched = co_await run->qmp->execute("migrate-start-postcopy"); switched) {
            postcopy_started = true;
            publish("MigrationPostcopyRequested",
                    fmt::format("pass {}: switching to postcopy at the next switchover",
                                passes));
          }
        } else if (tuning.kind == migration::Tuning::Kind::raise_downtime) {
          const std::uint32_t next = tuning.new_limit_ms;
          json::object raise;
          raise["downtime-limit"] = next;
          raised_at_pass = passes;  // a refusal is not retried at every look either
          if (auto raised = co_await qmp::migrate_set_parameters(qmp, raise); raised) {
            downtime_limit = next;
            publish("MigrationDowntimeRaised",
                    fmt::format("pass {}: expected downtime {} ms; the limit is now {} ms",
                                passes, *info->expected_downtime, downtime_limit));
          } else {
            spdlog::warn("vm {}: raising the downtime limit to {} ms: {}", name_, next,
                         raised.error().to_string());
          }
        }
      }
      if (run->migration_event) {
        continue;  // an event came while we asked: the source may be paused for switchover
      }
      wake->expires_after(250ms);
      boost::system::error_code ec;
      co_await wake->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    if (!fail_why.empty() || !split_why.empty() || committed) {
      break;
    }

    // Everything arrived. The destination resumes the guest and owns it from here; only
    // then does this side let go.
    op->phase = "handing over";
    // A VM paused here arrives paused there.
    auto result = co_await migration::hand_over(remote, name_, was_running, postcopy_switched);
    const migration::Handover handover = result.outcome;
    const std::string& refused = result.refused;
    if (handover == migration::Handover::handed_over) {
      break;  // it runs there
    }
    if (handover == migration::Handover::split) {
      split_why = "the destination did not take over: " + refused;
      break;
    }
    if (handover == migration::Handover::rolled_back) {
      fail_why = "the destination did not take over: " + refused;
      break;
    }
    const std::string why = fmt::format(
        "the destination stopped answering during the hand-over ({}); the VM stays "
        "paused here so that it never runs twice: if it runs on {}, qmctl delete --force "
        "{} here, otherwise qmctl resume {}",
        refused, dest, name_, name_);
    fail_paused("unknown", why);
    co_return;
  } while (false);
  run->migration_wake.reset();

  if (!fail_why.empty() && postcopy_started && !postcopy_switched && !source_gone()) {
    // A failure noticed between two looks may have come after the switch (a migrate-continue
    // that timed out but went through): QEMU says whether a rollback is still possible.
    if (auto now = co_await qmp::query_migrate(qmp);
        !source_gone() && now &&
        migration::failure_was_after_switch(postcopy_started, postcopy_switched, now->status)) {
      mark_switched();
      split_why = std::exchange(fail_why, std::string());
    }
  }
  if (!split_why.empty()) {
    // Past the point of no return: resuming here would run stale memory, and the
    // destination lacks pages only this side had. Both stay as they are for a person.
    const std::string why = migration::split_message(split_why, dest, name_);
    // Marked since the switch; a QEMU that exited meanwhile took the stale half with it
    // (supervise() cleared the mark then, and must not find it again).
    record_.split_memory = migration::split_mark(source_gone(), dest);
    record_.last_error = why;
    save_record();
    fail_paused("failed after the switch", why);
    co_return;
  }

  if (!fail_why.empty()) {
    // Every way out but success: the source's migration stopped, the destination told to
    // let go, this VM running again (if it was), and the operation says what happened.
    op->phase = "rolling back";
    if (target.tls) {
      fail_why = migrate_tls::explain(fail_why, *target.tls);
    }
    auto info = co_await qmp::query_migrate(qmp);
    const migration::SourceRollback plan = migration::plan_source_rollback(
        {.copying_disks = !disks.empty(),
         .qemu_exited = run->exited.is_set(),
         .status = info ? info->status : std::string(),
         .tls = target.tls.has_value(),
         .was_running = was_running});
    if (plan.abandon_mirrors) {
      co_await storage::abandon_mirrors(qmp, disks);
    }
    if (plan.cancel_migration && !run->exited.is_set()) {
      (void)co_await qmp::migrate_cancel(qmp);
    }
    const std::string not_told = co_await migration::tell_to_drop(remote, name_);
    fail_why += not_told;
    for (int i = 0; i < 50 && !run->exited.is_set(); ++i) {
      auto now = co_await qmp::query_migrate(qmp);
      if (!now || !migration::still_cancelling(now->status)) {
        break;
      }
      co_await run->exited.wait_for(100ms);
    }
    if (plan.disable_tls && !run->exited.is_set()) {
      // The creds off again, so that a later migration without TLS works.
      const std::string tls_dir = target.tls->private_dir;
      co_await migrate_tls::disable(qmp, tls_dir);
    }
    if (plan.resume && !run->exited.is_set()) {
      if (auto resumed = co_await qmp::cont(qmp); !resumed) {
        fail_why += fmt::format("; resuming here failed: {} (qmctl resume {})",
                                resumed.error().to_string(), name_);
      }
    }
    if (run_ == run && !run->exited.is_set()) {
      auto now = co_await qmp::query_status(qmp);
      set_state(now && now->running ? VmState::running : VmState::paused,
                fmt::format("migration to {} {}: {}", dest, fail_status, fail_why));
    }
    end_outgoing();
    publish(std::string(migration::failure_event(fail_status)), fail_why);
    operations.finish(*op, fail_status, fail_why);
    co_return;
  }

  const auto handed_over = handed_over_at.value_or(std::chrono::steady_clock::now());
  op->progress["elapsedMs"] =
      std::chrono::duration_cast<std::chrono::milliseconds>(handed_over - operation_began).count();
  op->progress["pausedMs"] = std::chrono::duration_cast<std::chrono::milliseconds>(
                                 handed_over - paused_at.value_or(handed_over))
                                 .count();

  // The destination runs the guest: this QEMU and swtpm go, and so do the persistent VARS
  // and TPM state, which are the destination's now (and hold secrets).
  run->stop_requested = true;
  (void)co_await qmp::quit(qmp);
  const bool quit = co_await run->exited.wait_for(10s);
  if (!quit && run->qemu) {
    run->qemu->signal(SIGKILL);
    co_await run->exited.wait_for(10s);
  }
  const cmdline::VmPaths where = paths();
  std::error_code ec;
  fs::remove(where.nvram(true), ec);
  (void)remove_tree(where.tpm_state_dir(true));
  record_.migrated_to = dest;
  record_.migrated_at = format_time(std::chrono::system_clock::now());
  record_.split_memory.clear();  // a postcopy that finished: nothing stale is left here
  record_.migrating_to.clear();
  save_record();
  set_state(VmState::migrated,
            fmt::format("migrated to {} in {} ms (guest paused {} ms)", dest,
                        json::serialize(op->progress["elapsedMs"]),
                        json::serialize(op->progress["pausedMs"])));
  op->phase = "done";
  operations.finish(*op, "succeeded");
  (void)guard;
}

// A device added or removed in this run sits where the definition does not put it, so the
// destination, which starts from the definition, would not match — even with --persist.
std::string Vm::transient_devices() const {
  if (!run_ || !run_->hotplug) {
    return {};
  }
  std::vector<std::string> names;
  const auto& state = *run_->hotplug;
  for (const auto* devices : {&state.disks, &state.nics}) {
    for (const auto& [name, placed] : devices->added) {
      names.push_back(name + " (attached)");
    }
    for (const auto& name : devices->gone) {
      names.push_back(name + " (detached)");
    }
  }
  std::string out;
  for (const auto& name : names) {
    out += (out.empty() ? "" : ", ") + name;
  }
  return out;
}

}  // namespace qmd::daemon
