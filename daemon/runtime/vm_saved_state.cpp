// Suspend to disk (host shutdown's `suspend`) and the restore at the next start. The VM's
// memory and device state go through QEMU's migration stream into a file in the VM's state
// directory: qmd opens it (root's, 0600, never through a link) and hands QEMU only the
// descriptor (getfd), so QEMU neither names the file nor can reach it by path.
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>
#include <cstring>
#include <functional>
#include <utility>

#include "daemon/async/blocking.hpp"
#include "daemon/runtime/machine_type.hpp"
#include "cmdline/core_configurators.hpp"
#include "daemon/runtime/vm.hpp"
#include "daemon/store/dir_fd.hpp"
#include "qmp/commands.hpp"

namespace qmd::daemon {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kSaved = "saved-state";
constexpr const char* kPartial = "saved-state.partial";
constexpr auto kRestoreWithin = 600s;  // reading a saved state back: a local file

asio::awaitable<void> pause_for(std::chrono::milliseconds delay) {
  asio::steady_timer timer(co_await asio::this_coro::executor, delay);
  boost::system::error_code ec;
  co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

// Follows QEMU's migration (either direction) until it completed; its failure in words.
asio::awaitable<std::expected<void, std::string>> wait_stream(qmp::QmpClient& qmp,
                                                              Clock::time_point until) {
  for (;;) {
    auto info = co_await qmp::query_migrate(qmp);
    if (!info) {
      co_return std::unexpected(info.error().to_string());
    }
    if (info->status == "completed") {
      co_return std::expected<void, std::string>{};
    }
    if (info->status == "failed" || info->status == "cancelled") {
      co_return std::unexpected(info->error_desc.empty() ? info->status
                                                         : info->status + ": " + info->error_desc);
    }
    if (Clock::now() > until) {
      co_return std::unexpected(fmt::format("still {} when qmd stopped waiting", info->status));
    }
    co_await pause_for(100ms);
  }
}

std::expected<UniqueFd, std::string> open_in(const std::string& dir_path, const char* name,
                                             int flags) {
  UniqueFd dir = open_dir_nofollow(AT_FDCWD, dir_path.c_str());
  if (!dir) {
    return std::unexpected(fmt::format("open {}: {}", dir_path, std::strerror(errno)));
  }
  UniqueFd fd(::openat(dir.get(), name, flags | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd) {
    return std::unexpected(fmt::format("open {}/{}: {}", dir_path, name, std::strerror(errno)));
  }
  return fd;
}

UniqueFd dup_of(const UniqueFd& fd) { return UniqueFd(::fcntl(fd.get(), F_DUPFD_CLOEXEC, 0)); }

void remove_in(const std::string& dir_path, const char* name) {
  if (UniqueFd dir = open_dir_nofollow(AT_FDCWD, dir_path.c_str())) {
    (void)::unlinkat(dir.get(), name, 0);
  }
}

// Unlinking a file of the guest's whole RAM can take a while: on the pool, never the loop.
asio::awaitable<void> remove_on_pool(asio::thread_pool& pool, std::string dir, const char* name) {
  auto job = [dir, name] { remove_in(dir, name); };
  co_await run_blocking(pool, std::move(job));
}

}  // namespace

// Why this run's state would not fit the QEMU its definition starts; empty when it would.
std::string Vm::unsaveable(const policy::VmSpec& spec, const cmdline::RenderResult& rendered,
                           std::size_t vcpus) const {
  if (auto why = transient_devices(); !why.empty()) {
    return fmt::format("devices changed by hotplug in this run ({})", why);
  }
  if (record_.started_argv.empty()) {
    return "its QEMU was started by an older qmd, which kept no record of its command line";
  }
  if (record_.started_argv != argv_digest(rendered)) {
    return "its QEMU command line changed since it started (the definition, qmd.yaml or the "
           "presets)";
  }
  if (vcpus != cmdline::boot_vcpus(spec)) {
    return fmt::format("{} vCPUs run now but the definition boots {}", vcpus,
                       cmdline::boot_vcpus(spec));
  }
  for (const auto& volume : spec.volumes) {
    if (volume.kind == policy::VolumeKind::empty_disk) {
      return fmt::format("emptyDisk {} lives in the run directory and is gone at the stop",
                         volume.name);
    }
    if (volume.kind == policy::VolumeKind::container_disk ||
        volume.kind == policy::VolumeKind::ephemeral) {
      return fmt::format("{} {} runs on an overlay in the run directory, gone at the stop",
                         volume.kind == policy::VolumeKind::ephemeral ? "ephemeral volume"
                                                                      : "containerDisk",
                         volume.name);
    }
  }
  return {};
}

std::string argv_digest(const cmdline::RenderResult& rendered) {
  std::string joined;
  for (const auto& arg : rendered.argv.args()) {
    joined += arg;
    joined += '\0';
  }
  return fmt::format("{:016x}", std::hash<std::string>{}(joined));
}

std::string Vm::saved_state_path() const { return paths().state_dir + "/" + kSaved; }

asio::awaitable<OpResult> Vm::suspend_to_disk(std::chrono::seconds within) {
  auto guard = co_await lock_.lock();
  auto done = co_await suspend_locked(within);
  if (!done) {
    publish("SuspendFailed", done.error().message);
  }
  co_return done;
}

asio::awaitable<OpResult> Vm::suspend_locked(std::chrono::seconds within) {
  if (auto allowed = check(VmAction::save); !allowed) {
    co_return allowed;
  }
  auto run = run_;
  auto parsed = spec();
  auto rendered = render();
  if (!parsed || !rendered) {
    co_return std::unexpected(parsed ? rendered.error() : parsed.error());
  }
  auto cpus = co_await qmp::query_cpus_fast(*run->qmp);
  const std::size_t vcpus = cpus ? cpus->size() : 0;
  if (auto why = unsaveable(*parsed, *rendered, vcpus); !why.empty()) {
    co_return std::unexpected(op_error(
        OpError::Code::conflict,
        fmt::format("VM {} cannot be saved: {}; the restore starts from the definition",
                    name_, why)));
  }
  const std::string wanted = parsed->domain.machine.type.value_or("q35");
  const std::string machine = co_await resolved_machine_type(*run->qmp, wanted);
  const bool was_running = state_ == VmState::running;
  const std::string dir = paths().state_dir;
  // The stream holds the guest's RAM (less what was never touched) and device state.
  const std::uint64_t need = parsed->domain.memory.guest.value_or(0) + (256ull << 20);
  auto saved = co_await save_stream(run, dir, need, was_running, Clock::now() + within);
  if (!saved) {
    co_await remove_on_pool(ctx_.blocking, dir, kPartial);
    if (was_running && run->qmp && run->qmp->is_open()) {
      (void)co_await qmp::cont(*run->qmp);
    }
    co_return std::unexpected(op_error(
        OpError::Code::failed, fmt::format("VM {}: saving its state failed: {}", name_,
                                           saved.error())));
  }
  record_.saved_at = format_time(std::chrono::system_clock::now());
  record_.saved_machine = machine;
  record_.saved_paused = !was_running;
  record_.saved_argv = argv_digest(*rendered);
  save_record();
  publish("Suspended", fmt::format("memory and device state saved to {} ({} MiB); the next "
                                   "start restores it",
                                   saved_state_path(), *saved >> 20));
  run->stop_requested = true;
  (void)co_await qmp::quit(*run->qmp);
  const bool quit = co_await run->exited.wait_for(5s);
  if (!quit) {
    co_return co_await kill_locked();
  }
  co_return OpResult{};
}

// Pauses the guest, streams its state into saved-state.partial and renames it saved-state
// (synced first: a power cut after the rename must not leave half a state). Its size.
asio::awaitable<std::expected<std::uint64_t, std::string>> Vm::save_stream(
    std::shared_ptr<Run> run, std::string dir, std::uint64_t need, bool was_running,
    Clock::time_point until) {
  auto create = [dir, need]() -> std::expected<UniqueFd, std::string> {
    remove_in(dir, kPartial);  // a save that died before
    struct statvfs fs {};
    if (::statvfs(dir.c_str(), &fs) == 0 &&
        static_cast<std::uint64_t>(fs.f_bavail) * fs.f_frsize < need) {
      return std::unexpected(fmt::format("{} has {} MiB free, and the state needs up to {} MiB",
                                         dir, static_cast<std::uint64_t>(fs.f_bavail) *
                                                  fs.f_frsize >> 20,
                                         need >> 20));
    }
    return open_in(dir, kPartial, O_WRONLY | O_CREAT | O_EXCL);
  };
  auto file = co_await run_blocking(ctx_.blocking, std::move(create));
  if (!file) {
    co_return std::unexpected(file.error());
  }
  if (was_running) {
    if (auto paused = co_await qmp::stop(*run->qmp); !paused) {
      co_return std::unexpected("stop: " + paused.error().to_string());
    }
  }
  // A previous migration's capabilities stay set in QEMU; a file takes a plain stream.
  std::vector<qmp::MigrationCapability> capabilities{
      {"events", true}, {"pause-before-switchover", false}, {"auto-converge", false},
      {"postcopy-ram", false}, {"multifd", false}};
  if (auto set = co_await qmp::migrate_set_capabilities(*run->qmp, capabilities); !set) {
    co_return std::unexpected("migrate-set-capabilities: " + set.error().to_string());
  }
  UniqueFd for_qemu = dup_of(*file);
  if (!for_qemu) {
    co_return std::unexpected(fmt::format("dup: {}", std::strerror(errno)));
  }
  std::string save_name = "qmd-save";
  if (auto named = co_await qmp::getfd(*run->qmp, std::move(for_qemu), save_name); !named) {
    co_return std::unexpected("getfd: " + named.error().to_string());
  }
  std::string save_uri = "fd:qmd-save";
  if (auto sent = co_await qmp::migrate(*run->qmp, save_uri); !sent) {
    co_return std::unexpected("migrate: " + sent.error().to_string());
  }
  auto streamed = co_await wait_stream(*run->qmp, until);
  if (!streamed) {
    (void)co_await qmp::migrate_cancel(*run->qmp);
    // The guest resumes only once QEMU has let go of the stream (bounded: a wedged cancel
    // still ends in a resume and a power-off).
    (void)co_await wait_stream(*run->qmp, Clock::now() + 10s);
    co_return std::unexpected(streamed.error());
  }
  auto sync = [fd = file->get(), dir]() -> std::expected<std::uint64_t, std::string> {
    struct stat st {};
    UniqueFd parent = open_dir_nofollow(AT_FDCWD, dir.c_str());
    if (::fsync(fd) != 0 || ::fstat(fd, &st) != 0 || !parent ||
        ::renameat(parent.get(), kPartial, parent.get(), kSaved) != 0 ||
        ::fsync(parent.get()) != 0) {
      return std::unexpected(fmt::format("keeping {}/{}: {}", dir, kSaved, std::strerror(errno)));
    }
    return static_cast<std::uint64_t>(st.st_size);
  };
  co_return co_await run_blocking(ctx_.blocking, std::move(sync));
}

// In a start: QEMU was launched with -incoming defer; the saved stream goes in through a
// descriptor. The file stays until the guest runs again (finish_restore).
asio::awaitable<std::optional<std::string>> Vm::restore_stream(std::shared_ptr<Run> run) {
  auto open = [dir = paths().state_dir] { return open_in(dir, kSaved, O_RDONLY); };
  auto file = co_await run_blocking(ctx_.blocking, std::move(open));
  if (!file) {
    co_return file.error();
  }
  std::string restore_name = "qmd-restore";
  if (auto named = co_await qmp::getfd(*run->qmp, std::move(*file), restore_name); !named) {
    co_return "getfd: " + named.error().to_string();
  }
  std::string restore_uri = "fd:qmd-restore";
  if (auto listening = co_await qmp::migrate_incoming(*run->qmp, restore_uri); !listening) {
    co_return "migrate-incoming: " + listening.error().to_string();
  }
  auto streamed = co_await wait_stream(*run->qmp, Clock::now() + kRestoreWithin);
  if (!streamed) {
    co_return fmt::format("reading {}: {}", saved_state_path(), streamed.error());
  }
  co_return std::nullopt;
}

// Drops the record's mark, then the file; when it was saved.
asio::awaitable<std::string> Vm::forget_saved_state() {
  std::string at = std::exchange(record_.saved_at, {});
  record_.saved_machine.clear();
  record_.saved_paused = false;
  save_record();
  co_await remove_on_pool(ctx_.blocking, paths().state_dir, kSaved);
  co_return at;
}

asio::awaitable<void> Vm::finish_restore() {
  const std::string at = co_await forget_saved_state();
  publish("Restored", fmt::format("the state saved at {} is back; the file is removed", at));
}

asio::awaitable<OpResult> Vm::discard_saved_state() {
  auto guard = co_await lock_.lock();
  if (!has_saved_state()) {
    co_return std::unexpected(op_error(OpError::Code::not_found,
                                       fmt::format("VM {} has no saved state", name_)));
  }
  if (auto allowed = check(VmAction::discard_saved); !allowed) {
    co_return allowed;
  }
  const std::string at = co_await forget_saved_state();
  publish("SavedStateDiscarded",
          fmt::format("the state saved at {} was discarded; the next start boots afresh", at));
  co_return OpResult{};
}

}  // namespace qmd::daemon
