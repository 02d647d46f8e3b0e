// qmd: the daemon. One loop thread owns every VM; a small pool does blocking file work.
// Stopping qmd (SIGTERM, SIGINT) closes the API and leaves every VM running: the next qmd
// adopts them. Guests are shut down only when asked (POST /v1/host/shutdown-guests, which
// qmd-guests.service sends at host shutdown); runStrategy Always VMs that are not running
// start once the API is up (autostart).
#include <fmt/format.h>
#include <fcntl.h>
#include <grp.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/thread_pool.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "daemon/api/http_server.hpp"
#include "daemon/api/router.hpp"
#include "daemon/api/routes.hpp"
#include "daemon/api/routes_host_shutdown.hpp"
#include "daemon/daemon_flags.hpp"
#include "daemon/host/uid_clash.hpp"
#include "daemon/network/nat_network.hpp"
#include "daemon/network/network_settings.hpp"
#include "daemon/runtime/autostart.hpp"
#include "daemon/runtime/host_probe.hpp"
#include "daemon/runtime/host_shutdown.hpp"
#include "daemon/runtime/registry.hpp"
#include "daemon/store/dir_fd.hpp"
#include "daemon/store/storage_roots.hpp"
#include "policy/seccomp_profile.hpp"
#include "qmd_version.hpp"

namespace {

using namespace qmd::daemon;
using qmd::UniqueFd;
namespace asio = boost::asio;

// systemd's Type=notify without libsystemd: one datagram to $NOTIFY_SOCKET.
void sd_notify_ready(const std::string& status) {
  const char* path = std::getenv("NOTIFY_SOCKET");
  if (path == nullptr || (*path != '/' && *path != '@')) {
    return;
  }
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return;
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::size_t len = std::min(std::strlen(path), sizeof(addr.sun_path) - 1);
  std::memcpy(addr.sun_path, path, len);
  if (addr.sun_path[0] == '@') {
    addr.sun_path[0] = '\0';  // abstract namespace
  }
  const std::string message = "READY=1\nSTATUS=" + status;
  ::sendto(fd, message.data(), message.size(), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&addr),
           static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len));
  ::close(fd);
}

void setup_logging(const Config& config, const std::string& level) {
  std::vector<spdlog::sink_ptr> sinks;
  sinks.push_back(std::make_shared<spdlog::sinks::stderr_sink_mt>());
  if (std::getenv("JOURNAL_STREAM") != nullptr) {
    sinks.back()->set_pattern("[%l] %v");  // the journal adds its own time stamps
  }
  if (!config.log_dir.empty()) {
    std::filesystem::create_directories(config.log_dir);
    sinks.push_back(
        std::make_shared<spdlog::sinks::basic_file_sink_mt>(config.log_dir + "/qmd.log"));
  }
  auto logger = std::make_shared<spdlog::logger>("qmd", sinks.begin(), sinks.end());
  logger->set_level(spdlog::level::from_str(level));
  spdlog::set_default_logger(logger);
}

// The runStrategy Always VMs load() found stopped, in autostart order, after the API is up.
asio::awaitable<void> start_always_vms(DaemonContext& ctx, Registry& registry) {
  std::vector<std::string> always;
  std::vector<std::string> all;
  for (const auto& vm : registry.all()) {
    all.push_back(vm->name());
    if (vm->run_strategy() == "Always") {
      always.push_back(vm->name());
    }
  }
  for (const auto& warning : autostart_order_warnings(ctx.config.autostart.order, always, all)) {
    spdlog::warn("{}", warning);
  }
  auto problems = co_await autostart(ctx, registry.take_autostart());
  for (const auto& problem : problems) {
    spdlog::warn("{}", problem);
  }
}

// The default root, <stateDir>/storage, is qmd's to make (0711: the QEMU user passes
// through to the files qmd hands it, and may list nothing); configured roots must exist.
std::expected<void, std::string> prepare_storage_roots(const Config& config) {
  const std::string fallback = default_storage_root(config);
  if (config.storage_roots.empty()) {
    if (::mkdir(fallback.c_str(), 0711) != 0 && errno != EEXIST) {
      return std::unexpected(fmt::format("cannot create the storage root {}: {}", fallback,
                                         std::strerror(errno)));
    }
    UniqueFd dir(::open(fallback.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!dir || ::fchmod(dir.get(), 0711) != 0) {  // past the umask
      return std::unexpected(fmt::format("cannot set the storage root {} to 0711: {}", fallback,
                                         std::strerror(errno)));
    }
  }
  const auto roots = storage_roots(config);
  if (auto checked = check_roots(roots, config.state_dir, config.run_dir, fallback); !checked) {
    return checked;
  }
  spdlog::info("storage roots: {}", describe_roots(roots));
  // Optional: a qmd whose VMs use no claims or container disks starts without them (a user's
  // qmd under a root-owned root cannot make them); using one then names the directory.
  for (const auto& dir : {claims_dir(config), images_dir(config)}) {
    if (::mkdir(dir.c_str(), 0711) != 0 && errno != EEXIST) {
      spdlog::warn("cannot create {} (storage.claims/storage.images in qmd.yaml): {}; claims "
                   "and container disks there fail until it exists",
                   dir, std::strerror(errno));
    }
  }
  spdlog::info("claims in {}, container disk images in {}", claims_dir(config),
               images_dir(config));
  return {};
}

// A uid per VM for a root qmd (qemuUids), unless QEMU is to run as root itself: refused
// when the range clashes with the host's users, groups or subordinate ids, or with the range
// of another qmd running on this host.
std::expected<std::shared_ptr<UidPool>, std::string> qemu_uid_pool(
    const Config& config, const std::optional<Credentials>& qemu_user) {
  if (!qemu_user || qemu_user->uid == 0) {
    return nullptr;
  }
  if (auto clash = uid_range_refusal(config.qemu_uids, read_host_ids())) {
    return std::unexpected(*clash);
  }
  auto lock = lock_uid_range(config.qemu_uids);
  if (!lock) {
    return std::unexpected(lock.error());
  }
  auto pool = std::make_shared<UidPool>(config.qemu_uids, device_groups());
  pool->keep(std::move(*lock));
  return pool;
}

int fail(const std::string& message) {
  spdlog::error("{}", message);
  return 1;
}

// --help, --print-seccomp, --version: what qmd prints and exits with; nullopt to run.
std::optional<int> answered_by_flags(const DaemonFlags& flags) {
  if (flags.help) {
    std::cout << kDaemonUsage;
    return 0;
  }
  if (flags.print_seccomp) {
    std::cout << qmd::policy::describe_seccomp_profile();
    return 0;
  }
  if (flags.version) {
    std::cout << "qmd " << QMD_VERSION << '\n';
    return 0;
  }
  return std::nullopt;
}

// Who QEMU runs as (a root qmd's qemuUser, and a uid per VM from qemuUids) and which group
// may use the API.
struct Identities {
  std::optional<Credentials> qemu_user;
  std::shared_ptr<UidPool> uid_pool;
  std::optional<gid_t> api_group;
};

std::expected<Identities, std::string> identities(const Config& config) {
  Identities out;
  if (::geteuid() == 0) {
    auto user = lookup_user(config.qemu_user);
    if (!user) {
      return std::unexpected(
          fmt::format("{}; create it (packaging/sysusers.d/qmd.conf does) or choose "
                      "another with --qemu-user / qemuUser",
                      user.error()));
    }
    out.qemu_user = *user;
  }
  auto uid_pool = qemu_uid_pool(config, out.qemu_user);
  if (!uid_pool) {
    return std::unexpected(uid_pool.error());
  }
  out.uid_pool = std::move(*uid_pool);
  if (out.qemu_user && out.qemu_user->uid == 0) {
    spdlog::warn("qemuUser is root: every VM's QEMU runs as root, and no VM has a uid of its "
                 "own; a guest that takes over its QEMU owns the host");
  }
  if (!config.group.empty()) {
    const group* found = ::getgrnam(config.group.c_str());
    if (found == nullptr) {
      return std::unexpected(fmt::format("group {} (who may use the API) does not exist; "
                                         "create it or set --group / group",
                                         config.group));
    }
    out.api_group = found->gr_gid;
  }
  return out;
}

// The run directory and its vms/ (`vms_mode`), set on descriptors: the per-VM directories
// below are made the same way (store/dir_fd).
std::expected<void, std::string> prepare_run_dir(const Config& config, mode_t vms_mode) {
  auto run_root = open_config_dir(config.run_dir);
  if (run_root && ::fchmod(run_root->get(), 0755) != 0) {
    run_root = std::unexpected(fmt::format("chmod {}: {}", config.run_dir, std::strerror(errno)));
  }
  if (run_root) {
    run_root = make_dir_at(run_root->get(), "vms", vms_mode, self_owner(), config.run_dir + "/vms");
  }
  if (!run_root) {
    return std::unexpected(fmt::format("cannot create the run directory {}: {}", config.run_dir,
                                       run_root.error()));
  }
  return {};
}

// The preset catalog, with what it noted and what did not load in qmd's log.
std::expected<qmd::policy::PresetCatalog, std::string> load_presets(const Config& config) {
  auto presets = qmd::policy::PresetCatalog::load(
      std::filesystem::is_directory(config.preset_dir) ? config.preset_dir : "");
  if (!presets) {
    return std::unexpected(qmd::policy::to_string(presets.error()));
  }
  for (const auto& note : presets->notes()) {
    spdlog::info("presets: {}", note);
  }
  for (const auto& failure : presets->failures()) {
    spdlog::warn("presets: {} did not load; VMs naming what it defines fail:\n{}", failure.file,
                 qmd::policy::to_string(failure.errors));
  }
  return std::move(*presets);
}

// The route tables of the API, one per resource.
void add_routes(qmd::daemon::api::Router& router, DaemonContext& ctx, Registry& registry,
                Operations& operations, HostShutdown& host_shutdown) {
  namespace api = qmd::daemon::api;
  api::add_host_routes(router, ctx);
  api::add_vm_routes(router, registry, ctx);
  api::add_stream_routes(router, registry, ctx);
  api::add_guest_routes(router, registry);
  api::add_hotplug_routes(router, registry);
  api::add_storage_routes(router, registry, ctx);
  api::add_migration_routes(router, registry, operations);
  api::add_host_shutdown_routes(router, host_shutdown);
  api::add_screen_routes(router, registry, ctx);
  api::add_media_routes(router, registry);
  api::add_network_routes(router, ctx);
}

// On the loop, once: the managed networks and the VMs are adopted, then the API opens,
// systemd hears qmd is ready, and the runStrategy Always VMs start.
asio::awaitable<void> come_up(DaemonContext& ctx, Registry& registry,
                              qmd::daemon::api::HttpServer& server, std::string socket) {
  if (ctx.nat) {  // before the VMs: adopted ones re-attach to it
    co_await ctx.nat->adopt();
  }
  for (auto& [name, bridged] : ctx.bridge_networks) {
    auto managed = bridged;
    co_await managed->adopt();
  }
  const auto problems = co_await registry.load();
  for (const auto& problem : problems) {
    spdlog::warn("{}", problem);
  }
  if (ctx.nat) {  // forwards of VMs not adopted go; the rules are watched from now on
    co_await ctx.nat->adopted();
  }
  for (auto& [name, bridged] : ctx.bridge_networks) {  // watched too
    auto managed = bridged;
    co_await managed->adopted();
  }
  server.start();
  const std::string status = fmt::format("{} VMs, API on {}", registry.all().size(), socket);
  spdlog::info("ready: {}", status);
  sd_notify_ready(status);
  refresh_host_caps(ctx);
  co_await start_always_vms(ctx, registry);
}

}  // namespace

// The start-up sequence in order: flags, config, who runs as whom, directories, presets,
// the host probe, the loop with the registry and the API, signals, then come_up on the loop.
int main(int argc, char** argv) {
  auto flags = parse_daemon_flags(argc, argv);
  if (!flags) {
    std::cerr << "qmd: " << flags.error() << "\n\n" << kDaemonUsage;
    return 2;
  }
  if (auto answered = answered_by_flags(*flags)) {
    return *answered;
  }
  auto config = daemon_config(*flags);
  if (!config) {
    std::cerr << "qmd: " << config.error() << '\n';
    return 1;
  }
  setup_logging(*config, flags->log_level);
  ::umask(0027);
  auto ids = identities(*config);
  if (!ids) {
    return fail(ids.error());
  }
  // Before anything touches a network: a bridge another live qmd runs is refused here.
  auto bridge_locks = qmd::daemon::network::lock_bridges(*config);
  if (!bridge_locks) {
    return fail(bridge_locks.error());
  }
  // The QEMU user passes through to its own VM's files, and may list nothing.
  const mode_t vms_mode = ids->qemu_user ? 0711 : 0750;
  if (auto made = prepare_run_dir(*config, vms_mode); !made) {
    return fail(made.error());
  }
  auto store = VmStore::open(config->state_dir, vms_mode);
  if (!store) {
    return fail(store.error());
  }
  if (auto roots = prepare_storage_roots(*config); !roots) {
    return fail(roots.error());
  }
  auto presets = load_presets(*config);
  if (!presets) {
    return fail(presets.error());
  }

  spdlog::info("qmd {}", QMD_VERSION);
  StartCaps start_caps = host_caps_at_start(*config);
  asio::io_context loop(1);
  asio::thread_pool blocking(4);
  EventBus events(loop.get_executor());
  DaemonContext ctx{loop.get_executor(), blocking, *config, std::move(start_caps.caps), *presets,
                    *store, events, ids->qemu_user, {}, {}};
  ctx.probe = std::move(start_caps.status);
  ctx.qemu_uids = std::move(ids->uid_pool);
  const auto warn = [](const std::string& notice) { spdlog::warn("{}", notice); };
  ctx.nat = qmd::daemon::network::nat_network_for(*config, loop.get_executor(), blocking, warn);
  ctx.bridge_networks =
      qmd::daemon::network::bridge_networks_for(*config, loop.get_executor(), blocking, warn);
  Registry registry(ctx);
  Operations operations(loop.get_executor());
  HostShutdown host_shutdown(ctx, registry);

  qmd::daemon::api::Router router;
  add_routes(router, ctx, registry, operations, host_shutdown);
  qmd::daemon::api::ServerOptions options;
  options.socket_path = socket_path(*config);
  options.group = ids->api_group;
  options.caps = {config->api_max_connections, config->api_max_connections_per_user};
  auto server = qmd::daemon::api::HttpServer::bind(
      loop.get_executor(), options,
      [&router](qmd::daemon::api::Request request) { return router.dispatch(std::move(request)); });
  if (!server) {
    return fail(server.error());
  }

  asio::signal_set signals(loop, SIGTERM, SIGINT);
  signals.async_wait([&](const boost::system::error_code&, int signal) {
    spdlog::info("signal {}: closing the API; VMs keep running", signal);
    (*server)->stop();
    loop.stop();
  });
  ::signal(SIGPIPE, SIG_IGN);
  asio::co_spawn(loop, come_up(ctx, registry, **server, options.socket_path), asio::detached);
  loop.run();
  blocking.join();
  return 0;
}
