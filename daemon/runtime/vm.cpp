#include "daemon/runtime/vm.hpp"

#include <fmt/format.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <unistd.h>

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fstream>
#include <spdlog/spdlog.h>

#include "cmdline/provisioning.hpp"
#include "cmdline/render.hpp"
#include "daemon/runtime/hot_nic_clash.hpp"
#include "daemon/runtime/volume_sources.hpp"
#include "daemon/runtime/spec_paths.hpp"
#include "policy/parse.hpp"
#include "policy/presets.hpp"
#include "qmp/commands.hpp"
#include "qmp/qga_commands.hpp"

namespace qmd::daemon {

namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

// The record's "forwards": what a qmd restarted under a running VM holds for it again.
std::vector<policy::PortForward> forwards_from_json(const json::value* value) {
  std::vector<policy::PortForward> out;
  if (value == nullptr || !value->is_array()) {
    return out;
  }
  for (const auto& item : value->as_array()) {
    const auto* o = item.if_object();
    if (o == nullptr) {
      continue;
    }
    auto text = [o](const char* key) {
      const auto* v = o->if_contains(key);
      return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
    };
    auto port = [o](const char* key) -> std::uint16_t {
      const auto* v = o->if_contains(key);
      const bool valid = v != nullptr && v->is_int64() && v->as_int64() > 0 &&
                         v->as_int64() <= 65535;
      return valid ? static_cast<std::uint16_t>(v->as_int64()) : 0;
    };
    policy::PortForward f{text("interface"), text("name"), text("protocol"), port("guestPort"),
                          port("hostPort")};
    if (f.guest_port != 0 && f.host_port != 0) {
      out.push_back(std::move(f));
    }
  }
  return out;
}

}  // namespace

boost::json::object VmRecord::to_json() const {
  json::object out;
  out["uuid"] = uuid;
  out["createdAt"] = created_at;
  out["lastError"] = last_error;
  if (!migrated_to.empty()) {
    out["migratedTo"] = migrated_to;
    out["migratedAt"] = migrated_at;
  }
  if (incoming) {
    out["incoming"] = true;
  }
  if (!split_memory.empty()) {
    out["splitMemory"] = split_memory;
  }
  if (!migrating_to.empty()) {
    out["migratingTo"] = migrating_to;
  }
  if (!saved_at.empty()) {
    out["savedAt"] = saved_at;
    out["savedMachine"] = saved_machine;
    out["savedPaused"] = saved_paused;
    out["savedArgv"] = saved_argv;
  }
  if (!started_argv.empty()) {
    out["startedArgv"] = started_argv;
  }
  if (!forwards.empty()) {
    json::array list;
    for (const auto& f : forwards) {
      list.push_back(json::object{{"interface", f.interface},
                                  {"name", f.name},
                                  {"protocol", f.protocol},
                                  {"guestPort", std::int64_t{f.guest_port}},
                                  {"hostPort", std::int64_t{f.host_port}}});
    }
    out["forwards"] = std::move(list);
  }
  if (!hot_nics.empty()) {
    out["hotNics"] = hot_nics_to_json(hot_nics);
  }
  if (!owned_claims.empty()) {
    out["ownedClaims"] = json::array(owned_claims.begin(), owned_claims.end());
  }
  if (qemu_uid) {
    out["qemuUid"] = std::int64_t{*qemu_uid};
  }
  return out;
}

VmRecord VmRecord::from_json(const std::string& text) {
  VmRecord record;
  boost::system::error_code ec;
  const json::value value = json::parse(text, ec);
  if (ec || !value.is_object()) {
    return record;
  }
  const auto& object = value.as_object();
  auto text_of = [&](const char* key) -> std::string {
    const auto* v = object.if_contains(key);
    return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
  };
  record.uuid = text_of("uuid");
  record.created_at = text_of("createdAt");
  record.last_error = text_of("lastError");
  record.migrated_to = text_of("migratedTo");
  record.migrated_at = text_of("migratedAt");
  record.split_memory = text_of("splitMemory");
  record.migrating_to = text_of("migratingTo");
  const auto* incoming = object.if_contains("incoming");
  record.incoming = incoming != nullptr && incoming->is_bool() && incoming->as_bool();
  record.saved_at = text_of("savedAt");
  record.saved_machine = text_of("savedMachine");
  record.saved_argv = text_of("savedArgv");
  record.started_argv = text_of("startedArgv");
  if (const auto* owned = object.if_contains("ownedClaims"); owned && owned->is_array()) {
    for (const auto& claim : owned->as_array()) {
      if (claim.is_string()) {
        record.owned_claims.emplace_back(claim.as_string());
      }
    }
  }
  const auto* paused = object.if_contains("savedPaused");
  record.saved_paused = paused != nullptr && paused->is_bool() && paused->as_bool();
  record.forwards = forwards_from_json(object.if_contains("forwards"));
  auto hot = hot_nics_from_json(object.if_contains("hotNics"));
  record.hot_nics = std::move(hot.nics);
  record.hot_nics_dropped = std::move(hot.dropped);
  const auto* uid = object.if_contains("qemuUid");
  if (uid != nullptr && uid->is_int64() && uid->as_int64() > 0 &&
      uid->as_int64() < (std::int64_t{1} << 31)) {
    record.qemu_uid = static_cast<uid_t>(uid->as_int64());
  }
  return record;
}

std::expected<policy::VmSpec, OpError> parse_definition(const DaemonContext& ctx,
                                                        const std::string& text,
                                                        const std::string& file) {
  auto parsed = policy::parse_spec(text, file);
  if (!parsed) {
    return std::unexpected(OpError{OpError::Code::bad_spec, policy::to_string(parsed.error()),
                                   parsed.error()});
  }
  auto spec = policy::apply_presets(*parsed, ctx.presets);
  if (!spec) {
    return std::unexpected(
        OpError{OpError::Code::bad_spec, policy::to_string(spec.error()), spec.error()});
  }
  return std::move(*spec);
}

std::expected<policy::VmSpec, OpError> parse_user_definition(const DaemonContext& ctx,
                                                             const std::string& text,
                                                             const std::string& file) {
  auto spec = parse_definition(ctx, text, file);
  if (!spec) {
    return spec;
  }
  auto refused = check_user_paths(*spec, storage_roots(ctx.config), PathCheck::defined);
  if (!refused.empty()) {
    return std::unexpected(
        OpError{OpError::Code::bad_spec, policy::to_string(refused), std::move(refused)});
  }
  return spec;
}

Vm::Vm(DaemonContext& ctx, std::string name, std::string spec_text, VmRecord record)
    : ctx_(ctx),
      name_(std::move(name)),
      spec_text_(std::move(spec_text)),
      record_(std::move(record)),
      saved_record_(json::serialize(record_.to_json())),  // it comes from the store
      state_(record_.migrated_to.empty() ? VmState::stopped : VmState::migrated),
      lock_(ctx.executor),
      console_(std::make_shared<ConsoleLog>(ctx.executor)) {
  if (ctx_.qemu_uids && record_.qemu_uid) {
    ctx_.qemu_uids->hold(*record_.qemu_uid);
  }
}

// The last holder of a deleted (or discarded) VM lets its uid go; the pool hands it out
// again only when no process runs with it.
Vm::~Vm() {
  if (ctx_.qemu_uids && record_.qemu_uid) {
    ctx_.qemu_uids->release(*record_.qemu_uid);
  }
}

namespace {

std::string run_strategy_of(const std::expected<policy::VmSpec, OpError>& spec) {
  if (!spec) {
    return "Manual";
  }
  if (spec->run_strategy) {
    return *spec->run_strategy;
  }
  if (spec->running) {
    return *spec->running ? "Always" : "Halted";
  }
  return "Manual";
}

}  // namespace

const Vm::ParsedSpec& Vm::parsed_spec() const {
  if (parsed_) {
    return *parsed_;
  }
  auto spec = parse_definition(ctx_, spec_text_, name_ + "/spec.yaml");
  if (spec && !spec->domain.firmware.uuid) {
    spec->domain.firmware.uuid = record_.uuid;  // stable, and how adoption knows its QEMU
  }
  std::string strategy = run_strategy_of(spec);
  parsed_.emplace(ParsedSpec{std::move(spec), std::move(strategy)});
  return *parsed_;
}

std::string Vm::set_spec_text(std::string text) {
  parsed_.reset();
  return std::exchange(spec_text_, std::move(text));
}

std::expected<policy::VmSpec, OpError> Vm::spec() const { return parsed_spec().spec; }

std::string Vm::run_strategy() const { return parsed_spec().run_strategy; }

cmdline::VmPaths Vm::paths() const {
  return {ctx_.config.run_dir + "/vms/" + name_, ctx_.store.vm_dir(name_)};
}

std::string Vm::log_path() const { return ctx_.store.vm_dir(name_) + "/qemu.log"; }

std::expected<cmdline::RenderResult, OpError> Vm::render() const {
  return render(run_ ? run_->network.forwards : std::vector<policy::PortForward>{});
}

std::expected<cmdline::RenderResult, OpError> Vm::render(
    const std::vector<policy::PortForward>& forwards) const {
  const auto& parsed = parsed_spec().spec;
  if (!parsed) {
    return std::unexpected(parsed.error());
  }
  policy::RunPolicy policy;
  policy.use_emulation = ctx_.config.use_emulation;
  policy.hyperv = ctx_.config.hyperv;
  policy.bridges = ctx_.config.bridges;
  policy.masquerade_nat = masquerade_mode(ctx_.config) == NetworkConfig::Masquerade::nat;
  policy.port_forwards = forwards;
  // Only root makes taps; anyone else's masquerade interfaces get passt.
  policy.passt_for_masquerade = ::geteuid() != 0 && !policy.masquerade_nat;
  const cmdline::VmPaths where = paths();
  policy.state_dir = where.state_dir;
  // Claims and images found now are attached; one missing is left out here and refused by
  // check_paths_at_start, so a VM can be defined before its claims exist.
  policy::VmSpec resolved = *parsed;
  (void)resolve_volume_sources(resolved, storage::places_of(ctx_.config));
  auto rendered = cmdline::render(resolved, ctx_.host, where, policy);
  if (!rendered) {
    return std::unexpected(OpError{OpError::Code::bad_spec,
                                   policy::to_string(rendered.error()), rendered.error()});
  }
  // The firmware debug port at qmd's debug verbosity (KubeVirt: SeaBIOS at its debug level).
  cmdline::FirmwareLogConfigurator(where, spdlog::should_log(spdlog::level::debug))
      .configure(*parsed, *rendered);
  rendered->binary = ctx_.config.qemu_binary;
  return std::move(*rendered);
}

VmSummary Vm::summary() const {
  VmSummary out{.name = name_,
                .state = state_name(state_),
                .run_strategy = parsed_spec().run_strategy,
                .ready = ready()};
  if (run_) {
    if (run_->qemu) {
      out.pid = run_->qemu->pid();
    }
    out.agent_connected = run_->agent_state.connected;
    out.agent_version = run_->agent_state.version;
  }
  return out;
}

VmDetails Vm::details() const {
  VmDetails out{.summary = summary(),
                .uuid = record_.uuid,
                .created_at = record_.created_at,
                .last_error = record_.last_error,
                .owned_claims = record_.owned_claims,
                .migrated_to = record_.migrated_to,
                .migrated_at = record_.migrated_at,
                .split_memory = record_.split_memory,
                .qemu_uid = record_.qemu_uid,
                .probes = probe_status(),
                .spec_text = spec_text_};
  if (has_saved_state()) {
    out.saved_state = VmSavedState{record_.saved_at, saved_state_path(), record_.saved_paused};
  }
  if (run_) {
    out.agent_last_seen = run_->agent_state.last_seen;
    out.qemu_version = run_->qemu_version;
    out.started_at = run_->started_at;
  }
  // What the guest is called (cloud-init and DHCP use it): the spec's hostname, else the name.
  if (const auto& parsed = parsed_spec().spec) {
    out.guest_name = VmDetails::GuestName{policy::guest_hostname(*parsed),
                                          parsed->subdomain.value_or("")};
  }
  return out;
}

void Vm::publish(std::string type, std::string message) {
  ctx_.events.publish(Event{std::chrono::system_clock::now(), name_, std::move(type),
                            std::string(state_name(state_)), std::move(message)});
}

void Vm::set_state(VmState state, std::string message) {
  if (state == state_) {
    return;  // QMP events and the operation that caused them both report a change; once is enough
  }
  state_ = state;
  publish("StateChanged", std::move(message));
}

std::optional<std::string> Vm::end_split() {
  if (record_.split_memory.empty()) {
    return std::nullopt;
  }
  std::string why = fmt::format(
      "VM {}: {}, and its stale QEMU here is gone; not started by itself (the guest may run "
      "there: check before qmctl start {})",
      name_, record_.split_memory, name_);
  record_.split_memory.clear();
  record_.last_error = why;
  save_record();
  return why;
}

void Vm::save_record() {
  if (retired_) {
    return;
  }
  std::string text = json::serialize(record_.to_json());
  if (text == saved_record_) {
    return;  // a start of an unchanged VM waits for no fsync
  }
  if (auto saved = ctx_.store.save_record(name_, text); !saved) {
    publish("Error", "cannot save the VM record: " + saved.error());
    return;
  }
  saved_record_ = std::move(text);
}

OpResult Vm::check(VmAction action, std::string_view what) const {
  Verdict rule = verdict(action, state_);
  // The table speaks of states; an action on QEMU also needs its monitor (an adoption that is
  // still connecting, a teardown under way).
  const bool needs_monitor = action != VmAction::start && action != VmAction::stop &&
                             action != VmAction::kill && action != VmAction::update &&
                             action != VmAction::remove && action != VmAction::discard_saved;
  if (rule == Verdict::go && needs_monitor && (!run_ || !run_->qmp)) {
    rule = Verdict::needs_qemu;
  }
  if (rule == Verdict::go || rule == Verdict::nothing_to_do) {
    return {};
  }
  const std::string_view named = what.empty() ? action_name(action) : what;
  return std::unexpected(op_error(OpError::Code::conflict,
                                  refusal(name_, named, state_, rule, record_.incoming)));
}

namespace {

OpResult from_qmp(const std::string& vm, std::string_view what,
                  const std::expected<void, qmp::QmpError>& done) {
  if (!done) {
    return std::unexpected(op_error(
        done.error().kind == qmp::QmpError::Kind::timeout ? OpError::Code::timeout
                                                          : OpError::Code::failed,
        fmt::format("VM {}: {} failed: {}", vm, what, done.error().to_string())));
  }
  return {};
}

}  // namespace

asio::awaitable<OpResult> Vm::pause() { co_return co_await set_vcpus_running(false); }

asio::awaitable<OpResult> Vm::resume() { co_return co_await set_vcpus_running(true); }

asio::awaitable<OpResult> Vm::set_vcpus_running(bool running) {
  const VmAction action = running ? VmAction::resume : VmAction::pause;
  if (auto movable = check_migration(action); !movable) {
    co_return movable;
  }
  auto guard = co_await lock_.lock();
  if (auto allowed = check(action); !allowed) {
    co_return allowed;
  }
  if (verdict(action, state_) == Verdict::nothing_to_do) {
    co_return OpResult{};
  }
  auto run = run_;
  if (running && !record_.split_memory.empty()) {
    co_return std::unexpected(op_error(
        OpError::Code::conflict,
        fmt::format("VM {} cannot resume here: {} (qmctl kill {})", name_,
                    record_.split_memory, name_)));
  }
  qmp::QmpDone done;
  if (running) {
    done = co_await qmp::cont(*run->qmp);
  } else {
    done = co_await qmp::stop(*run->qmp);
  }
  if (done && run_ == run) {
    set_state(running ? VmState::running : VmState::paused,
              fmt::format("{} on request", running ? "resumed" : "paused"));
    if (running) {
      // The guest clock stood still while paused. Best effort, without the lock: a missing
      // or hung agent must not hold up the resume.
      auto self = shared_from_this();
      auto sync_time = [self] { return self->guest_sync_time(); };
      asio::co_spawn(ctx_.executor, std::move(sync_time), asio::detached);
    }
  }
  co_return from_qmp(name_, running ? "resume (QMP cont)" : "pause (QMP stop)", done);
}

asio::awaitable<OpResult> Vm::reset() {
  if (auto movable = check_migration(VmAction::reset); !movable) {
    co_return movable;
  }
  auto guard = co_await lock_.lock();
  if (auto allowed = check(VmAction::reset); !allowed) {
    co_return allowed;
  }
  auto run = run_;
  auto done = co_await qmp::system_reset(*run->qmp);
  if (done) {
    publish("Reset", "hard reset on request (system_reset)");
  }
  co_return from_qmp(name_, "reset (system_reset)", done);
}

asio::awaitable<OpResult> Vm::reboot() {
  if (auto movable = check_migration(VmAction::reboot); !movable) {
    co_return movable;
  }
  auto guard = co_await lock_.lock();
  if (auto allowed = check(VmAction::reboot); !allowed) {
    co_return allowed;
  }
  auto run = run_;
  if (state_ == VmState::running && run->agent_state.connected) {
    if (auto sent = co_await qmp::guest_shutdown(run->agent, "reboot"); sent) {
      publish("Reboot", "reboot asked of the guest agent");
      co_return OpResult{};
    }
  }
  // No agent: QEMU has no ACPI reboot request, so this is a hard reset.
  auto done = co_await qmp::system_reset(*run->qmp);
  if (done) {
    publish("Reboot", "no guest agent: hard reset (system_reset)");
  }
  co_return from_qmp(name_, "reboot (system_reset)", done);
}

asio::awaitable<OpResult> Vm::redefine(std::string spec_text, DefinitionCheck check) {
  if (auto movable = check_migration(VmAction::update); !movable) {
    co_return movable;
  }
  auto guard = co_await lock_.lock();
  if (has_saved_state()) {
    co_return std::unexpected(op_error(
        OpError::Code::conflict,
        fmt::format("VM {} has a state saved at {}, which only its current definition can "
                    "restore; start it (and stop it) first, or discard the state with "
                    "`qmctl discard-saved {}`",
                    name_, record_.saved_at, name_)));
  }
  auto parsed = parse_user_definition(ctx_, spec_text, name_ + ".yaml");
  if (!parsed) {
    co_return std::unexpected(parsed.error());
  }
  if (parsed->name != name_) {
    co_return std::unexpected(op_error(
        OpError::Code::bad_request,
        fmt::format("metadata.name is \"{}\" but the VM is \"{}\"; a VM cannot be renamed",
                    parsed->name, name_)));
  }
  if (check) {
    if (auto refused = check(*parsed)) {
      co_return std::unexpected(*refused);
    }
  }
  if (auto clash = hot_nic_clash(name_, record_.hot_nics, *parsed)) {
    co_return std::unexpected(op_error(OpError::Code::conflict, std::move(*clash)));
  }
  std::string previous = set_spec_text(std::move(spec_text));
  if (auto rendered = render(); !rendered) {
    set_spec_text(std::move(previous));
    co_return std::unexpected(rendered.error());
  }
  if (auto saved = ctx_.store.save_spec(name_, spec_text_); !saved) {
    set_spec_text(std::move(previous));
    co_return std::unexpected(op_error(OpError::Code::failed, saved.error()));
  }
  // A stopped VM's next QEMU carries the new firmware.uuid: adoption looks for that one.
  if (!is_active(state_) && parsed->domain.firmware.uuid &&
      *parsed->domain.firmware.uuid != record_.uuid) {
    record_.uuid = *parsed->domain.firmware.uuid;
    save_record();
  }
  publish("Updated", is_active(state_) ? "definition updated; takes effect at the next start"
                                       : "definition updated");
  co_return OpResult{};
}

asio::awaitable<OpResult> Vm::retire(bool force) {
  // An arriving VM may go while its migration runs: the source still has the guest.
  if (auto movable = check_migration(VmAction::remove); !movable && !record_.incoming) {
    co_return movable;
  }
  auto guard = co_await lock_.lock();
  if (verdict(VmAction::remove, state_) != Verdict::go) {
    if (!force) {
      co_return std::unexpected(op_error(
          OpError::Code::conflict,
          fmt::format("VM {} is {}; stop it first (qmctl stop {}) or delete with --force",
                      name_, state_name(state_), name_)));
    }
    if (auto killed = co_await kill_locked(); !killed) {
      co_return killed;
    }
  }
  retired_ = true;
  // Its QEMU is gone: the uid is free now, not when the last holder of this object lets go
  // (an arrival of the same VM, replacing this record, may run as that uid again).
  if (ctx_.qemu_uids && record_.qemu_uid) {
    ctx_.qemu_uids->release(*std::exchange(record_.qemu_uid, std::nullopt));
  }
  co_return OpResult{};
}

}  // namespace qmd::daemon
