// The destination side of a live migration: QEMU started with -incoming defer, a watch that
// ends it when nothing arrives, and the hand-over (commit) or the give-up (abort) the source
// asks for.
#include <fmt/format.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <algorithm>
#include <filesystem>

#include "daemon/migration/decisions.hpp"
#include "daemon/async/blocking.hpp"
#include "daemon/runtime/incoming_setup.hpp"
#include "daemon/store/atomic_file.hpp"
#include "daemon/store/dir_fd.hpp"
#include "policy/tsc.hpp"
#include "qmp/commands.hpp"

namespace qmd::daemon {

namespace json = boost::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::expected<void, OpError> adjust_for_incoming(cmdline::RenderResult& rendered,
                                                 const Vm::IncomingStart& incoming) {
  if (!incoming.machine_type.empty()) {
    auto* machine = rendered.argv.find("-machine");
    if (machine == nullptr || !machine->value) {
      return std::unexpected(op_error(OpError::Code::failed, "the argv has no -machine"));
    }
    const auto comma = machine->value->find(',');
    machine->value = incoming.machine_type +
                     (comma == std::string::npos ? std::string() : machine->value->substr(comma));
  }
  // The guest's TSC must keep the source's frequency, whatever this host would pin.
  if (incoming.tsc_frequency) {
    auto* cpu = rendered.argv.find("-cpu");
    if (cpu == nullptr || !cpu->value) {
      return std::unexpected(op_error(OpError::Code::failed, "the argv has no -cpu"));
    }
    cpu->value = policy::with_tsc_frequency(*cpu->value, *incoming.tsc_frequency);
  }
  std::erase_if(rendered.sidecars, [](const auto& sidecar) { return sidecar.run_once; });
  rendered.argv.add("-incoming", "defer");
  return {};
}

std::expected<void, std::string> write_incoming_nvram(
    const cmdline::RenderResult& rendered, const std::string& bytes,
    const std::optional<storage::FileOwner>& owner) {
  for (const auto& prep : rendered.prepare) {
    if (prep.kind != cmdline::FilePrep::Kind::copy_if_missing) {
      continue;
    }
    // In a directory qmd owns, as a new file renamed into place: never through a link.
    auto parent = open_parent(prep.path);
    if (!parent) {
      return std::unexpected(fmt::format("the source's VARS: {}", parent.error()));
    }
    const PathOwner made_for = owner ? PathOwner{owner->uid, owner->gid} : self_owner();
    if (auto written = write_file_at(parent->first.get(), parent->second, bytes, prep.mode,
                                     made_for, prep.path);
        !written) {
      return std::unexpected(fmt::format("the source's VARS: {}", written.error()));
    }
    return {};
  }
  return std::unexpected(std::string(
      "the source sent NVRAM VARS but this VM has no EFI VARS file (the definitions differ?)"));
}

asio::awaitable<std::expected<void, std::string>> listen_incoming(
    qmp::QmpClient& qmp, const Vm::IncomingStart& incoming, asio::thread_pool& pool) {
  std::vector<qmp::MigrationCapability> capabilities{{"events", true}};
  for (const auto& name : incoming.capabilities) {
    capabilities.emplace_back(name, true);
  }
  if (auto set = co_await qmp::migrate_set_capabilities(qmp, capabilities); !set) {
    const bool postcopy = std::ranges::find(incoming.capabilities, "postcopy-ram") !=
                          incoming.capabilities.end();
    // Postcopy needs userfaultfd, which the kernel gives an unprivileged QEMU only with
    // vm.unprivileged_userfaultfd=1 (or read-write access to /dev/userfaultfd).
    co_return std::unexpected(fmt::format(
        "migrate-set-capabilities: {}{}", set.error().to_string(),
        postcopy ? " (postcopy needs userfaultfd for the QEMU user on this host: sysctl "
                   "vm.unprivileged_userfaultfd=1; or migrate without postcopy)"
                 : ""));
  }
  if (incoming.multifd_channels > 0) {
    json::object parameters;
    parameters["multifd-channels"] = incoming.multifd_channels;
    if (auto set = co_await qmp::migrate_set_parameters(qmp, std::move(parameters)); !set) {
      co_return std::unexpected(
          fmt::format("migrate-set-parameters: {}", set.error().to_string()));
    }
  }
  if (incoming.tls) {
    if (auto secured = co_await migrate_tls::enable(qmp, *incoming.tls, pool); !secured) {
      co_return std::unexpected(secured.error());
    }
  }
  if (auto listening = co_await qmp::migrate_incoming(qmp, incoming.uri); !listening) {
    co_return std::unexpected(
        fmt::format("migrate-incoming {}: {}", incoming.uri, listening.error().to_string()));
  }
  if (!incoming.copy_disks.empty()) {
    const std::string nbd_creds = migrate_tls::creds_id(incoming.tls);
    if (auto exported = co_await storage::export_disks(qmp, incoming.copy_disks,
                                                       incoming.nbd_address, nbd_creds);
        !exported) {
      co_return std::unexpected(exported.error());
    }
  }
  co_return std::expected<void, std::string>{};
}

void Vm::discard_now() {
  retired_ = true;
  // Images made for this migration hold nothing the source does not have.
  storage::remove_made_files(storage_roots(ctx_.config), std::exchange(incoming_images_, {}));
  if (auto discard = std::exchange(discard_, nullptr)) {
    discard();
  }
}

asio::awaitable<OpResult> Vm::start_incoming(IncomingStart request) {
  auto guard = co_await lock_.lock();
  discard_ = request.discard;
  if (!request.copy_disks.empty()) {
    // Like every image qmd makes in the storage roots, the QEMU user's (QEMU gets them as
    // descriptors): a uid of this VM's own would outlive it there, or be another qmd's.
    std::optional<std::pair<uid_t, gid_t>> owner;
    if (ctx_.qemu_user) {
      owner.emplace(ctx_.qemu_user->uid, ctx_.qemu_user->gid);
    }
    auto make = [disks = request.copy_disks, roots = storage_roots(ctx_.config), owner] {
      return storage::create_images(disks, roots, owner);
    };
    auto made = co_await run_blocking(ctx_.blocking, std::move(make));
    if (!made) {
      co_return std::unexpected(op_error(OpError::Code::conflict,
                                         fmt::format("VM {}: {}", name_, made.error())));
    }
    incoming_images_ = std::move(*made);
  }
  auto started = co_await start_locked(&request);
  if (!started) {
    // Nothing came in: what this start made goes (what the user made beforehand stays).
    storage::remove_made_files(storage_roots(ctx_.config),
                               std::exchange(incoming_images_, {}));
  }
  co_return started;
}

// Ends an incoming VM that nothing reaches: no stream within arrive_within, or no hand-over
// within finish_within (the source, or its qmd, went away).
asio::awaitable<void> Vm::watch_incoming(std::shared_ptr<Run> run, IncomingStart timing) {
  const auto began = std::chrono::steady_clock::now();
  bool arrived = false;
  while (run->migration.incoming && !run->exited.is_set()) {
    const bool exited = co_await run->exited.wait_for(1s);
    if (exited) {
      break;
    }
    if (!run->migration.incoming || !run->qmp) {
      break;
    }
    const auto elapsed = std::chrono::steady_clock::now() - began;
    if (!arrived) {
      auto info = co_await qmp::query_migrate(*run->qmp);
      arrived = info && migration::stream_arrived(info->status);
    }
    const auto why = migration::incoming_expired(arrived, elapsed, timing.arrive_within,
                                                 timing.finish_within);
    if (why && run->migration.incoming && run_ == run) {
      std::string reason = *why;
      (void)co_await abort_incoming(std::move(reason));
      break;
    }
  }
}

// qmd restarted while a migration came in (adopt holds the lock). Before the postcopy switch
// the source still has the guest and Registry::load drops this copy. Past it the guest's CPU
// state is here and the source cannot take it back: wait for the hand-over, which the source
// asks for again when the transfer ends.
asio::awaitable<bool> Vm::keep_incoming(std::shared_ptr<Run> run, pid_t pid) {
  auto info = co_await qmp::query_migrate(*run->qmp);
  const std::string status = info ? info->status : std::string();
  if (!migration::incoming_past_switch(status)) {
    co_return false;
  }
  run->migration.incoming = true;
  run->started_at = "(adopted)";
  set_state(VmState::migrating,
            fmt::format("adopted QEMU pid {} past the postcopy switch ({}); waiting for the "
                        "source to hand the VM over",
                        pid, status));
  auto self = shared_from_this();
  asio::co_spawn(ctx_.executor, [self, run] { return self->supervise(run); }, asio::detached);
  auto watch = [self, run] { return self->watch_incoming(run, IncomingStart{}); };
  asio::co_spawn(ctx_.executor, std::move(watch), asio::detached);
  co_return true;
}

asio::awaitable<std::expected<migration::IncomingStatus, OpError>> Vm::incoming_status() {
  migration::IncomingStatus out{.name = name_,
                                .state = std::string(state_name(state_)),
                                .incoming = record_.incoming,
                                .status = "gone"};
  auto run = run_;
  if (!run || !run->qmp || !run->qemu || run->qemu->exited()) {
    co_return out;
  }
  auto info = co_await qmp::query_migrate(*run->qmp);
  if (!info) {
    co_return std::unexpected(op_error(OpError::Code::failed,
                                       fmt::format("VM {}: query-migrate: {}", name_,
                                                   info.error().to_string())));
  }
  out.status = info->status.empty() ? std::string("waiting") : info->status;
  co_return out;
}

asio::awaitable<OpResult> Vm::commit_incoming(bool resume) {
  auto guard = co_await lock_.lock();
  auto run = run_;
  if (!record_.incoming || !run || !run->migration.incoming || !run->qmp) {
    co_return std::unexpected(op_error(
        OpError::Code::conflict,
        fmt::format("VM {} is not waiting for a migration here ({})", name_, state_name(state_))));
  }
  // The source saw "completed" when it sent the last byte; this side is done once it has
  // loaded them. Wait for that, briefly. In postcopy the source hands over at the switch:
  // the guest runs here while the rest of its memory arrives.
  std::string status;
  auto readiness = migration::CommitReadiness::wait;
  for (int i = 0; i < 100 && readiness == migration::CommitReadiness::wait; ++i) {
    auto info = co_await qmp::query_migrate(*run->qmp);
    status = info ? info->status : "unknown (" + info.error().to_string() + ")";
    readiness = migration::commit_readiness(status, run->exited.is_set());
    if (readiness == migration::CommitReadiness::wait) {
      co_await run->exited.wait_for(100ms);
    }
  }
  const bool postcopy = readiness == migration::CommitReadiness::postcopy;
  if (readiness != migration::CommitReadiness::completed && !postcopy) {
    co_return std::unexpected(op_error(
        OpError::Code::conflict,
        fmt::format("VM {}: the incoming migration is {}, not completed; not resuming here",
                    name_, status)));
  }
  // copyStorage: the source is done writing into the exports (an error without any: fine).
  co_await storage::stop_exports(*run->qmp);
  // A VM paused on the source stays paused here (QEMU ran with -S: nothing runs until cont).
  if (resume) {
    if (auto done = co_await qmp::cont(*run->qmp); !done) {
      co_return std::unexpected(op_error(
          OpError::Code::failed,
          fmt::format("VM {}: resume after the migration (QMP cont): {}", name_,
                      done.error().to_string())));
    }
  }
  if (!postcopy) {
    // TLS creds off again once the guest runs (no added pause), so that a later migration
    // away from here may go without; in postcopy when the last page came (watch_postcopy).
    const std::string tls_dir = migrate_tls::private_dir(paths().run_dir);
    co_await migrate_tls::disable(*run->qmp, tls_dir);
  }
  run->migration.incoming = false;
  incoming_images_.clear();  // they hold the guest's disks now
  record_.incoming = false;
  record_.migrated_to.clear();
  record_.migrated_at.clear();
  record_.last_error.clear();
  save_record();
  set_state(resume ? VmState::running : VmState::paused,
            resume ? "migration completed: running here"
                   : "migration completed: here, paused as it was on the source");
  auto self = shared_from_this();
  auto watch = [self, run] { return self->watch_agent(run); };
  asio::co_spawn(ctx_.executor, std::move(watch), asio::detached);
  if (postcopy) {
    publish("MigrationPostcopy", "running here while the rest of the memory arrives");
    run->migration.pages_arriving = true;
    auto follow = [self, run] { return self->watch_postcopy(run); };
    asio::co_spawn(ctx_.executor, std::move(follow), asio::detached);
  }
  // The guest clock stood still during the switchover. The agent reconnects through the new
  // chardev within seconds; sync once it answers (best effort, like after a resume).
  auto sync = [self, run]() -> asio::awaitable<void> {
    for (int i = 0; i < 30 && !run->agent_state.connected && !run->exited.is_set(); ++i) {
      co_await run->exited.wait_for(1s);
    }
    if (!run->exited.is_set()) {
      (void)co_await self->guest_sync_time();
    }
  };
  asio::co_spawn(ctx_.executor, std::move(sync), asio::detached);
  co_return OpResult{};
}

// The guest runs here and pulls the pages it lacks from the source until the last one came.
// A broken stream leaves it waiting on those pages (QEMU's postcopy-paused): say so loudly,
// there is nothing qmd can undo.
asio::awaitable<void> Vm::watch_postcopy(std::shared_ptr<Run> run) {
  std::string status = "postcopy-active";
  while (status == "postcopy-active" && !run->exited.is_set() && run_ == run) {
    co_await run->exited.wait_for(500ms);
    if (run->exited.is_set() || !run->qmp) {
      break;
    }
    auto info = co_await qmp::query_migrate(*run->qmp);
    if (info) {
      status = info->status;
    }
  }
  if (status == "completed") {
    const std::string tls_dir = migrate_tls::private_dir(paths().run_dir);
    co_await migrate_tls::disable(*run->qmp, tls_dir);
    run->migration.pages_arriving = false;
    publish("MigrationCompleted", "postcopy: every page arrived");
    co_return;
  }
  const std::string why = fmt::format(
      "postcopy ended {} before every page arrived: the guest here lacks memory the source "
      "still holds and stalls when it touches it; check the source host",
      run->exited.is_set() ? std::string("with QEMU's exit") : "as " + status);
  record_.last_error = why;
  save_record();
  publish("MigrationFailed", why);
}

asio::awaitable<OpResult> Vm::abort_incoming(std::string why) {
  if (!record_.incoming) {
    co_return std::unexpected(op_error(
        OpError::Code::conflict,
        fmt::format("VM {} is not an incoming migration here ({}); nothing to abort", name_,
                    state_name(state_))));
  }
  publish("MigrationAborted", fmt::format("incoming migration ended: {}", why));
  if (auto run = run_) {
    run->migration.incoming = false;
    run->stop_requested = true;
    if (run->qemu) {
      run->qemu->signal(SIGKILL);
    }
    co_await run->exited.wait_for(10s);
  }
  discard_now();
  co_return OpResult{};
}

}  // namespace qmd::daemon
