#include "daemon/runtime/registry.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <boost/json/serialize.hpp>
#include <filesystem>
#include <fstream>
#include <random>

#include "daemon/host/free_port.hpp"
#include "daemon/runtime/migrate_tls.hpp"
#include "daemon/store/remove_tree.hpp"
#include "policy/tsc.hpp"

namespace qmd::daemon {

std::string new_uuid() {
  std::array<unsigned char, 16> bytes{};
  std::ifstream random("/dev/urandom", std::ios::binary);
  random.read(reinterpret_cast<char*>(bytes.data()), bytes.size());
  if (!random) {
    std::random_device device;
    for (auto& byte : bytes) {
      byte = static_cast<unsigned char>(device());
    }
  }
  bytes[6] = static_cast<unsigned char>((bytes[6] & 0x0f) | 0x40);  // version 4
  bytes[8] = static_cast<unsigned char>((bytes[8] & 0x3f) | 0x80);  // RFC 4122 variant
  std::string out;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) {
      out += '-';
    }
    out += fmt::format("{:02x}", bytes[i]);
  }
  return out;
}

asio::awaitable<std::vector<std::string>> Registry::load() {
  std::vector<std::string> problems;
  auto stored = ctx_.store.load_all();
  if (!stored) {
    problems.push_back(stored.error());
    co_return problems;
  }
  for (auto& entry : *stored) {
    VmRecord record = VmRecord::from_json(entry.record_json);
    auto vm = std::make_shared<Vm>(ctx_, entry.name, entry.spec_text, record);
    vms_.emplace(entry.name, vm);
    if (!record.migrated_to.empty()) {
      continue;  // it runs on another qmd now
    }
    if (record.incoming) {
      // An incoming migration that an earlier qmd did not finish: its source still has the
      // VM. Whatever QEMU is left goes, and so does the definition.
      (void)co_await vm->adopt();
      (void)co_await vm->retire(true);
      discard(entry.name, vm.get());
      problems.push_back(fmt::format("VM {}: dropped an unfinished incoming migration",
                                     entry.name));
      continue;
    }
    const bool adopted = co_await vm->adopt();
    if (adopted) {
      continue;
    }
    if (auto split = vm->end_split()) {
      problems.push_back(std::move(*split));
      continue;
    }
    // A VM suspended at host shutdown was running: it comes back whatever its runStrategy.
    if (vm->run_strategy() == "Always" || vm->has_saved_state()) {
      autostart_.push_back(vm);
    }
  }
  co_return problems;
}

std::shared_ptr<Vm> Registry::find(const std::string& name) const {
  const auto it = vms_.find(name);
  return it == vms_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<Vm>> Registry::all() const {
  std::vector<std::shared_ptr<Vm>> out;
  for (const auto& [name, vm] : vms_) {
    out.push_back(vm);
  }
  return out;
}

asio::awaitable<std::expected<std::shared_ptr<Vm>, OpError>> Registry::create(std::string text,
                                                                              std::string file) {
  auto spec = parse_user_definition(ctx_, text, file);
  if (!spec) {
    co_return std::unexpected(spec.error());
  }
  const std::string name = spec->name;
  if (vms_.contains(name)) {
    co_return std::unexpected(op_error(
        OpError::Code::conflict,
        fmt::format("a VM named {} exists already; change metadata.name, or update it with "
                    "qmctl apply",
                    name)));
  }
  VmRecord record;
  record.uuid = spec->domain.firmware.uuid.value_or(new_uuid());
  record.created_at = format_time(std::chrono::system_clock::now());
  auto vm = std::make_shared<Vm>(ctx_, name, text, record);
  if (auto rendered = vm->render(); !rendered) {
    co_return std::unexpected(rendered.error());
  }
  if (auto stored = store_new(name, text, record); !stored) {
    co_return std::unexpected(stored.error());
  }
  vms_.emplace(name, vm);
  ctx_.events.publish(Event{std::chrono::system_clock::now(), name, "Defined", "stopped",
                            fmt::format("defined (uuid {})", record.uuid)});
  co_return vm;
}

asio::awaitable<OpResult> Registry::remove(const std::string& name, bool force) {
  auto vm = find(name);
  if (!vm) {
    co_return std::unexpected(
        op_error(OpError::Code::not_found, fmt::format("no VM named {}", name)));
  }
  if (auto retired = co_await vm->retire(force); !retired) {
    co_return retired;
  }
  vms_.erase(name);
  if (auto removed = ctx_.store.remove(name); !removed) {
    co_return std::unexpected(op_error(OpError::Code::failed, removed.error()));
  }
  (void)remove_tree(vm->paths().run_dir);
  ctx_.events.publish(
      Event{std::chrono::system_clock::now(), name, "Deleted", "stopped", "definition removed"});
  co_return OpResult{};
}

OpResult Registry::store_new(const std::string& name, const std::string& text,
                             const VmRecord& record) {
  if (auto saved = ctx_.store.save_spec(name, text); !saved) {
    return std::unexpected(op_error(OpError::Code::failed, saved.error()));
  }
  if (auto saved = ctx_.store.save_record(name, boost::json::serialize(record.to_json()));
      !saved) {
    (void)ctx_.store.remove(name);  // a spec without its record is half a VM
    return std::unexpected(op_error(OpError::Code::failed, saved.error()));
  }
  return {};
}

void Registry::discard(const std::string& name, const Vm* vm) {
  const auto it = vms_.find(name);
  if (it == vms_.end() || it->second.get() != vm) {
    return;  // already gone, or replaced by a newer VM of the same name
  }
  const std::string run_dir = it->second->paths().run_dir;
  vms_.erase(it);
  (void)ctx_.store.remove(name);
  (void)remove_tree(run_dir);
  ctx_.events.publish(Event{std::chrono::system_clock::now(), name, "Deleted", "stopped",
                            "incoming migration dropped"});
}

std::string boot_id() {
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::string id;
  std::getline(in, id);
  return id;
}

namespace {

// The stream comes over a unix socket (the source runs on this host), not TCP.
bool incoming_over_unix(const Registry::IncomingRequest& request) {
  const bool same_host = !request.boot_id.empty() && request.boot_id == boot_id();
  return request.transport == "unix" || (request.transport == "auto" && same_host);
}

}  // namespace

std::expected<std::string, OpError> Registry::incoming_uri(const IncomingRequest& request,
                                                           const Vm& vm) {
  if (incoming_over_unix(request)) {
    return "unix:" + vm.paths().run_dir + "/migrate.sock";
  }
  const std::string& address = ctx_.config.migration_address;
  if (address.empty()) {
    return std::unexpected(op_error(
        OpError::Code::conflict,
        fmt::format("VM {}: a migration from another host needs migration.address in this "
                    "qmd's config (the address the source reaches this host at)",
                    vm.name())));
  }
  auto port = free_tcp_port(address, ctx_.config.migration_port_min,
                            ctx_.config.migration_port_max, incoming_ports_);
  if (!port) {
    return std::unexpected(op_error(OpError::Code::conflict, port.error()));
  }
  incoming_ports_.insert(*port);
  const bool ipv6 = address.find(':') != std::string::npos;
  return fmt::format("tcp:{}{}{}:{}", ipv6 ? "[" : "", address, ipv6 ? "]" : "", *port);
}

std::expected<migration::NbdAddress, OpError> Registry::nbd_address(const std::string& uri,
                                                                    const Vm& vm) {
  migration::NbdAddress address;
  if (uri.starts_with("unix:")) {
    address.kind = migration::NbdAddress::Kind::unix_socket;
    address.path = vm.paths().run_dir + "/nbd.sock";
    return address;
  }
  const std::string& host = ctx_.config.migration_address;
  auto port = free_tcp_port(host, ctx_.config.migration_port_min,
                            ctx_.config.migration_port_max, incoming_ports_);
  if (!port) {
    return std::unexpected(op_error(OpError::Code::conflict, port.error()));
  }
  incoming_ports_.insert(*port);
  address.kind = migration::NbdAddress::Kind::inet;
  address.host = host;
  address.port = std::to_string(*port);
  return address;
}

asio::awaitable<std::expected<migration::IncomingReady, OpError>> Registry::incoming(
    IncomingRequest request) {
  auto spec = parse_user_definition(ctx_, request.spec_text, "the source's definition");
  if (!spec) {
    co_return std::unexpected(spec.error());
  }
  const std::string name = spec->name;
  auto existing = find(name);
  if (existing && existing->state() != VmState::migrated) {
    co_return std::unexpected(op_error(
        OpError::Code::conflict,
        fmt::format("a VM named {} exists on this qmd ({}); delete or rename it here first",
                    name, state_name(existing->state()))));
  }
  if (!request.machine_type.empty() &&
      std::ranges::find(ctx_.host.machine_types, request.machine_type) ==
          ctx_.host.machine_types.end()) {
    co_return std::unexpected(op_error(
        OpError::Code::conflict,
        fmt::format("VM {} runs with machine type {} on the source, which this host's QEMU "
                    "does not have; migrate to a host with the same or a newer QEMU",
                    name, request.machine_type)));
  }
  VmRecord record;
  record.uuid = request.uuid.empty() ? spec->domain.firmware.uuid.value_or(new_uuid())
                                     : request.uuid;
  record.created_at = format_time(std::chrono::system_clock::now());
  record.incoming = true;
  auto vm = std::make_shared<Vm>(ctx_, name, request.spec_text, record);
  if (auto rendered = vm->render(); !rendered) {
    co_return std::unexpected(rendered.error());
  }
  // The guest keeps the TSC frequency the source pinned: this host must present it.
  if (request.tsc_frequency) {
    if (auto refusal = policy::tsc_refusal(*request.tsc_frequency, ctx_.host)) {
      co_return std::unexpected(op_error(
          OpError::Code::conflict, fmt::format("VM {} cannot run here: {}", name, *refusal)));
    }
  }
  // TLS on one side only: refused before anything is stored or started.
  if (auto refusal = migrate_tls::incoming_refusal(ctx_.config, request.tls,
                                                   !incoming_over_unix(request))) {
    co_return std::unexpected(
        op_error(OpError::Code::conflict, fmt::format("VM {}: {}", name, *refusal)));
  }
  if (!incoming_over_unix(request)) {
    if (auto why = migrate_tls::unusable(ctx_.config, migrate_tls::Endpoint::server)) {
      co_return std::unexpected(
          op_error(OpError::Code::conflict, fmt::format("VM {}: {}", name, *why)));
    }
  }
  // The images copyStorage makes: beneath a storage root, refused before anything is stored.
  if (auto refused = storage::refuse_paths(request.disks, storage_roots(ctx_.config))) {
    co_return std::unexpected(
        op_error(OpError::Code::bad_request, fmt::format("VM {}: {}", name, *refused)));
  }
  if (existing) {
    // The record of an earlier move away from here: the VM is coming back.
    (void)co_await existing->retire(true);
    vms_.erase(name);
    (void)ctx_.store.remove(name);
  }
  if (auto stored = store_new(name, request.spec_text, record); !stored) {
    co_return std::unexpected(stored.error());
  }
  vms_.emplace(name, vm);
  ctx_.events.publish(Event{std::chrono::system_clock::now(), name, "MigrationIncoming",
                            "stopped",
                            fmt::format("arriving from {}", request.source.empty()
                                                                ? std::string("another qmd")
                                                                : request.source)});
  Vm::IncomingStart start;
  start.machine_type = request.machine_type;
  start.tsc_frequency = request.tsc_frequency;
  start.nvram = std::move(request.nvram);
  start.capabilities = request.capabilities;
  start.multifd_channels = request.multifd_channels;
  auto uri_for = incoming_uri(request, *vm);
  if (!uri_for) {
    discard(name, vm.get());
    co_return std::unexpected(uri_for.error());
  }
  start.uri = *uri_for;
  if (!request.disks.empty()) {
    auto nbd = nbd_address(start.uri, *vm);
    if (!nbd) {
      discard(name, vm.get());
      co_return std::unexpected(nbd.error());
    }
    start.copy_disks = request.disks;
    start.nbd_address = std::move(*nbd);
  }
  std::optional<std::pair<uid_t, gid_t>> qemu_owner;
  if (ctx_.qemu_user) {
    qemu_owner.emplace(ctx_.qemu_user->uid, ctx_.qemu_user->gid);
  }
  start.tls = migrate_tls::for_uri(ctx_.config, vm->paths().run_dir, start.uri,
                                   migrate_tls::Endpoint::server, qemu_owner);
  const bool tls = start.tls.has_value();
  const std::optional<migration::NbdAddress> nbd_answer =
      start.copy_disks.empty() ? std::nullopt : std::optional(start.nbd_address);
  start.arrive_within = request.arrive_within;
  start.finish_within = request.finish_within;
  const Vm* raw = vm.get();
  start.discard = [this, name, raw] { discard(name, raw); };
  const std::string uri = start.uri;
  auto started = co_await vm->start_incoming(std::move(start));
  if (const auto colon = uri.rfind(':'); uri.starts_with("tcp:")) {
    incoming_ports_.erase(static_cast<std::uint16_t>(std::stoul(uri.substr(colon + 1))));
  }
  if (nbd_answer && !nbd_answer->port.empty()) {
    incoming_ports_.erase(static_cast<std::uint16_t>(std::stoul(nbd_answer->port)));
  }
  if (!started) {
    discard(name, raw);
    co_return std::unexpected(started.error());
  }
  co_return migration::IncomingReady{.name = name, .uri = uri, .tls = tls, .nbd = nbd_answer};
}

}  // namespace qmd::daemon
