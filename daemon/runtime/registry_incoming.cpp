// The destination side of a live migration in the registry: admission of an arriving VM, its
// definition stored, its ports handed out, and QEMU started waiting for the stream.
#include <fmt/format.h>

#include <fstream>

#include "daemon/host/free_port.hpp"
#include "daemon/migration/admission.hpp"
#include "daemon/runtime/migrate_tls.hpp"
#include "daemon/runtime/registry.hpp"
#include "policy/tsc.hpp"

namespace qmd::daemon {

namespace {

std::string boot_id() {
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::string id;
  std::getline(in, id);
  return id;
}

// The stream comes over a unix socket (the source runs on this host), not TCP.
bool incoming_over_unix(const Registry::IncomingRequest& request) {
  return migration::stream_over_unix(request.transport, request.boot_id, boot_id());
}

// The arriving VM's own QEMU uid (claimed before its start is planned).
std::optional<std::pair<uid_t, gid_t>> qemu_owner(const Vm& vm) {
  const auto qemu = vm.qemu_owner();
  if (!qemu) {
    return std::nullopt;
  }
  return std::pair{qemu->uid, qemu->gid};
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

// Whether the VM may arrive, before anything is stored or started: its definition renders
// here, no VM of its name is in the way, this host has its machine type and TSC frequency,
// TLS is on at both ends or neither, and copied disks go beneath a storage root.
std::expected<std::shared_ptr<Vm>, OpError> Registry::admit_incoming(
    const IncomingRequest& request) {
  auto spec = parse_user_definition(ctx_, request.spec_text, "the source's definition");
  if (!spec) {
    return std::unexpected(spec.error());
  }
  const std::string name = spec->name;
  auto refused = [&name](OpError::Code code, const std::string& why) {
    return std::unexpected(op_error(code, fmt::format("VM {}: {}", name, why)));
  };
  auto existing = find(name);
  const auto existing_state = existing ? std::optional<std::string_view>(
                                             state_name(existing->state()))
                                       : std::nullopt;
  if (auto why = migration::name_refusal(name, existing_state)) {
    return std::unexpected(op_error(OpError::Code::conflict, *why));
  }
  if (auto why = migration::machine_type_refusal(name, request.machine_type,
                                                 ctx_.host.machine_types)) {
    return std::unexpected(op_error(OpError::Code::conflict, *why));
  }
  VmRecord record;
  record.uuid = request.uuid.empty() ? spec->domain.firmware.uuid.value_or(new_uuid())
                                     : request.uuid;
  // Its uuid (the source's record's, and its definition's) is no other VM's here.
  for (const auto& uuid : {record.uuid, spec->domain.firmware.uuid.value_or("")}) {
    if (auto clash = uuid_conflict(uuid, name)) {
      return std::unexpected(*clash);
    }
  }
  record.created_at = format_time(std::chrono::system_clock::now());
  record.incoming = true;
  auto vm = std::make_shared<Vm>(ctx_, name, request.spec_text, record);
  if (auto rendered = vm->render(); !rendered) {
    return std::unexpected(rendered.error());
  }
  // The guest keeps the TSC frequency the source pinned: this host must present it.
  if (request.tsc_frequency) {
    if (auto why = policy::tsc_refusal(*request.tsc_frequency, ctx_.host)) {
      return std::unexpected(op_error(OpError::Code::conflict,
                                      fmt::format("VM {} cannot run here: {}", name, *why)));
    }
  }
  // TLS on one side only: refused before anything is stored or started.
  const bool over_tcp = !incoming_over_unix(request);
  if (auto why = migrate_tls::incoming_refusal(ctx_.config, request.tls, over_tcp)) {
    return refused(OpError::Code::conflict, *why);
  }
  if (over_tcp) {
    if (auto why = migrate_tls::unusable(ctx_.config, migrate_tls::Endpoint::server)) {
      return refused(OpError::Code::conflict, *why);
    }
  }
  // The images copyStorage makes: beneath a storage root, refused before anything is stored.
  if (auto why = storage::refuse_paths(request.disks, storage_roots(ctx_.config))) {
    return refused(OpError::Code::bad_request, *why);
  }
  return vm;
}

// How the arriving VM's QEMU starts: where it listens (and its NBD server), with what.
std::expected<Vm::IncomingStart, OpError> Registry::arrival_start(IncomingRequest request,
                                                                  const Vm& vm) {
  Vm::IncomingStart start;
  start.machine_type = request.machine_type;
  start.tsc_frequency = request.tsc_frequency;
  start.nvram = std::move(request.nvram);
  start.capabilities = request.capabilities;
  start.multifd_channels = request.multifd_channels;
  start.arrive_within = request.arrive_within;
  start.finish_within = request.finish_within;
  auto uri_for = incoming_uri(request, vm);
  if (!uri_for) {
    return std::unexpected(uri_for.error());
  }
  start.uri = *uri_for;
  if (!request.disks.empty()) {
    auto nbd = nbd_address(start.uri, vm);
    if (!nbd) {
      return std::unexpected(nbd.error());
    }
    start.copy_disks = request.disks;
    start.nbd_address = std::move(*nbd);
  }
  start.tls = migrate_tls::for_uri(ctx_.config, vm.paths().run_dir, start.uri,
                                   migrate_tls::Endpoint::server, qemu_owner(vm));
  return start;
}

asio::awaitable<std::expected<migration::IncomingReady, OpError>> Registry::incoming(
    IncomingRequest request) {
  auto admitted = admit_incoming(request);
  if (!admitted) {
    co_return std::unexpected(admitted.error());
  }
  auto vm = std::move(*admitted);
  const std::string name = vm->name();
  auto existing = find(name);
  if (existing) {
    // The record of an earlier move away from here: the VM is coming back.
    (void)co_await existing->retire(true);
    vms_.erase(name);
    (void)ctx_.store.remove(name);
  }
  if (auto stored = store_new(name, request.spec_text, vm->record()); !stored) {
    co_return std::unexpected(stored.error());
  }
  vms_.emplace(name, vm);
  // Its own uid on this host, before the TLS files and the images are made for it.
  const bool same_host = incoming_over_unix(request);
  if (auto claimed = co_await vm->claim_qemu_uid(same_host); !claimed) {
    discard(name, vm.get());
    co_return std::unexpected(claimed.error());
  }
  ctx_.events.publish(Event{std::chrono::system_clock::now(), name, "MigrationIncoming",
                            "stopped",
                            fmt::format("arriving from {}", request.source.empty()
                                                                ? std::string("another qmd")
                                                                : request.source)});
  auto arrival = arrival_start(std::move(request), *vm);
  if (!arrival) {
    discard(name, vm.get());
    co_return std::unexpected(arrival.error());
  }
  Vm::IncomingStart start = std::move(*arrival);
  const bool tls = start.tls.has_value();
  const std::optional<migration::NbdAddress> nbd_answer =
      start.copy_disks.empty() ? std::nullopt : std::optional(start.nbd_address);
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
