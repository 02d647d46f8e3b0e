// The source side of a live migration, up to the transfer: the checks, the request the
// destination gets ready with, and its answer; vm_migrate_follow.cpp follows the transfer.
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
#include "daemon/migration/peer_protocol.hpp"
#include "daemon/migration/remote_destination.hpp"
#include "daemon/runtime/migrate_storage.hpp"
#include "daemon/runtime/machine_type.hpp"
#include "daemon/runtime/vm_hotplug_core.hpp"
#include "daemon/runtime/vm_migrate_follow.hpp"
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

// A pinned TSC frequency, as QEMU runs it: after an earlier migration that is the first
// host's, not what this host would render. nullopt when none is pinned.
asio::awaitable<std::optional<std::uint64_t>> running_tsc_frequency(qmp::QmpClient& qmp,
                                                                    std::string cpu) {
  const auto pinned = policy::cpu_tsc_frequency(cpu);
  if (!pinned) {
    co_return std::nullopt;
  }
  std::int64_t hz = static_cast<std::int64_t>(*pinned);
  auto vcpus = co_await qmp::query_cpus_fast(qmp);
  if (vcpus && !vcpus->empty()) {
    std::string path = vcpus->front().qom_path;
    std::string property = "tsc-frequency";
    auto actual = co_await qmp::qom_get(qmp, std::move(path), std::move(property));
    if (actual && actual->is_int64() && actual->as_int64() > 0) {
      hz = actual->as_int64();
    }
  }
  co_return static_cast<std::uint64_t>(hz);
}

}  // namespace

// Why this VM cannot move now, checked under the lock before anything is sent; else its
// spec and argv.
std::expected<std::pair<policy::VmSpec, cmdline::RenderResult>, OpError> Vm::migratable(
    const Operations& operations) const {
  auto refuse = [this](OpError::Code code, std::string why) {
    return std::unexpected(op_error(code, fmt::format("VM {}: {}", name_, why)));
  };
  if (auto allowed = check(VmAction::migrate); !allowed) {
    return std::unexpected(allowed.error());
  }
  if (auto running = operations.running_on(name_)) {
    return refuse(OpError::Code::conflict,
                  fmt::format("operation {} is already under way", running->id));
  }
  if (!record_.split_memory.empty()) {
    return refuse(OpError::Code::conflict,
                  fmt::format("{}; its memory here is stale and cannot go anywhere "
                              "(qmctl kill {})",
                              record_.split_memory, name_));
  }
  auto parsed = spec();
  auto rendered = render();
  if (!parsed || !rendered) {
    return std::unexpected(parsed ? rendered.error() : parsed.error());
  }
  if (auto why = not_migratable(*parsed, *rendered)) {
    return refuse(OpError::Code::conflict, "not migratable: " + *why);
  }
  if (auto why = transient_devices(); !why.empty()) {
    return refuse(OpError::Code::conflict,
                  fmt::format("not migratable yet: devices changed by hotplug in this run "
                              "({}) do not sit where the definition puts them; restart the "
                              "VM (with --persist the change is in its definition), then "
                              "migrate",
                              why));
  }
  return std::pair{std::move(*parsed), std::move(*rendered)};
}

asio::awaitable<std::expected<std::shared_ptr<Operation>, OpError>> Vm::migrate(
    MigrateOptions options, Operations& operations) {
  auto guard = co_await lock_.lock();
  auto checked = migratable(operations);
  if (!checked) {
    co_return std::unexpected(checked.error());
  }
  auto& [parsed, rendered] = *checked;
  auto opened = co_await migration::RemoteDestination::open(ctx_.executor, options.destination,
                                                            ctx_.config);
  if (!opened) {
    co_return std::unexpected(op_error(
        opened.error().bad_name ? OpError::Code::bad_request : OpError::Code::unavailable,
        fmt::format("VM {}: {}", name_, opened.error().message)));
  }
  std::shared_ptr<migration::DestinationQmd> destination = std::move(*opened);
  auto run = run_;
  const auto boots = cmdline::boot_vcpus(parsed);
  if (auto cpus = co_await qmp::query_cpus_fast(*run->qmp); cpus && cpus->size() != boots) {
    co_return std::unexpected(op_error(
        OpError::Code::conflict,
        fmt::format("VM {}: not migratable yet: {} vCPUs run now but the definition boots {}; "
                    "set-cpus back to {}, or restart the VM with the count in its definition",
                    name_, cpus->size(), boots, boots)));
  }
  auto request = co_await incoming_request_for(options, run, parsed, rendered);
  if (!request) {
    co_return std::unexpected(request.error());
  }
  MigrationTarget target;
  target.disks = request->disks;
  auto answer = co_await destination->prepare(std::move(*request));
  if (!answer) {
    co_return std::unexpected(prepare_refusal(answer.error(), name_, options.destination));
  }
  target.uri = answer->uri;
  target.destination = destination;
  std::optional<std::pair<uid_t, gid_t>> tls_owner;
  if (const auto qemu = qemu_owner()) {
    tls_owner.emplace(qemu->uid, qemu->gid);
  }
  target.tls = migrate_tls::for_uri(ctx_.config, paths().run_dir, target.uri,
                                    migrate_tls::Endpoint::client, tls_owner);
  if (answer->nbd) {
    target.nbd = *answer->nbd;
  }
  auto op = operations.create("migrate", name_);
  op->phase = "starting";
  op->progress = MigrationProgress{.destination = options.destination};
  const bool was_running = state_ == VmState::running;
  set_state(VmState::migrating, fmt::format("migrating to {} (operation {})",
                                            options.destination, op->id));
  SourceMigration::start(std::make_shared<SourceMigration>(
      shared_from_this(), std::move(guard), run, op, operations, std::move(options),
      std::move(target), was_running));
  co_return op;
}

// What the destination gets ready with: the definition (with the destination's paths for
// copied disks), and what only this side knows: the machine type "q35" stands for here, the
// TSC frequency QEMU runs, the VARS.
asio::awaitable<std::expected<migration::IncomingRequest, OpError>> Vm::incoming_request_for(
    MigrateOptions options, std::shared_ptr<Run> run, policy::VmSpec spec,
    cmdline::RenderResult rendered) {
  auto refuse = [this](OpError::Code code, std::string why) {
    return std::unexpected(op_error(code, fmt::format("VM {}: {}", name_, why)));
  };
  migration::IncomingRequest body;
  body.spec_text = spec_text_;
  if (options.copy_storage) {
    auto disks = co_await storage::local_disks(*run->qmp, spec, options.storage_paths);
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
    body.disks = std::move(*disks);
    body.spec_text = std::move(*renamed);
  } else if (!options.storage_paths.empty()) {
    co_return refuse(OpError::Code::bad_request, "storagePaths needs copyStorage");
  }
  body.uuid = record_.uuid;
  body.source = fmt::format("{}:{}", host_name(), name_);
  const std::string wanted = spec.domain.machine.type.value_or("q35");
  auto machine_type = co_await resolved_machine_type(*run->qmp, wanted);
  body.machine_type = machine_type;
  if (const auto* cpu = rendered.argv.find("-cpu"); cpu != nullptr && cpu->value) {
    std::string model = *cpu->value;
    auto hz = co_await running_tsc_frequency(*run->qmp, std::move(model));
    body.tsc_frequency = hz;
  }
  for (const auto& prep : rendered.prepare) {
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
  co_return body;
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
