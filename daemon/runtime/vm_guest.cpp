// What qmd asks of the guest agent on a caller's behalf: information, exec, ping, passwords,
// fsfreeze with a bounded automatic thaw, and the guest clock. No lifecycle lock is taken
// (QgaClient runs agent commands one at a time already); each method keeps its Run alive
// while it waits, so a VM that stops meanwhile only fails the command.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/array.hpp>
#include <functional>

#include "daemon/runtime/vm.hpp"
#include "qmp/qga_commands.hpp"

namespace qmd::daemon {

namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

// How long the first ping of every operation may take. The agent answers a ping in
// milliseconds; more means it is busy with a long command, hung, or gone.
constexpr auto kReachTimeout = 3s;

std::string not_connected(const std::string& vm) {
  return fmt::format("VM {}: the guest agent is not connected (is qemu-ga running in the guest?)",
                     vm);
}

// An agent failure in the daemon's terms. `what` names the operation, never its arguments
// (a password must not reach an error message).
OpError agent_error(const std::string& vm, std::string_view what, const qmp::QmpError& error) {
  switch (error.kind) {
    case qmp::QmpError::Kind::timeout:
      return op_error(OpError::Code::timeout,
                      fmt::format("VM {}: the guest agent did not answer {} in time: {}", vm,
                                  what, error.desc));
    case qmp::QmpError::Kind::closed:
    case qmp::QmpError::Kind::transport:
      return op_error(OpError::Code::conflict, not_connected(vm));
    case qmp::QmpError::Kind::oversize:
      return op_error(OpError::Code::unavailable,
                      fmt::format("VM {}: the guest agent broke the protocol during {}: {}", vm,
                                  what, error.desc));
    case qmp::QmpError::Kind::command:
    case qmp::QmpError::Kind::protocol:
      break;
  }
  return op_error(OpError::Code::failed,
                  fmt::format("VM {}: the guest agent failed {}: {}", vm, what, error.to_string()));
}

// The Run whose agent to use, once the agent has answered a ping. RunPtr is Vm's private
// std::shared_ptr<Run>, deduced here.
template <typename RunPtr>
asio::awaitable<std::optional<OpError>> reach_agent(const std::string& vm, VmState state,
                                                    const RunPtr& run) {
  const Verdict rule =
      run && run->qmp ? verdict(VmAction::guest_agent, state) : Verdict::needs_qemu;
  if (rule != Verdict::go) {
    co_return op_error(OpError::Code::conflict,
                       refusal(vm, action_name(VmAction::guest_agent), state, rule, false));
  }
  if (!run->agent_connected && run->agent_last_seen.empty()) {
    co_return op_error(OpError::Code::conflict, not_connected(vm));
  }
  // An agent that answered before and is silent now is hung (a timeout), not absent.
  if (auto ping = co_await qmp::guest_ping(run->agent, kReachTimeout); !ping) {
    co_return agent_error(vm, "a ping", ping.error());
  }
  co_return std::nullopt;
}

// `bytes` with every byte that is not part of a well-formed UTF-8 sequence replaced by '?';
// `clean` tells whether there was none. JSON strings must be UTF-8, and guest output need not.
std::string utf8_text(std::string_view bytes, bool& clean) {
  std::string out;
  out.reserve(bytes.size());
  clean = true;
  std::size_t i = 0;
  while (i < bytes.size()) {
    const auto lead = static_cast<unsigned char>(bytes[i]);
    const std::size_t length = lead < 0x80                   ? 1
                               : lead >= 0xC2 && lead < 0xE0 ? 2
                               : lead >= 0xE0 && lead < 0xF0 ? 3
                               : lead >= 0xF0 && lead < 0xF5 ? 4
                                                             : 0;
    bool ok = length != 0 && i + length <= bytes.size();
    for (std::size_t k = 1; ok && k < length; ++k) {
      ok = (static_cast<unsigned char>(bytes[i + k]) & 0xC0) == 0x80;
    }
    if (!ok) {
      out.push_back('?');
      clean = false;
      ++i;
      continue;
    }
    out.append(bytes.substr(i, length));
    i += length;
  }
  return out;
}

// Output as text; when it is not UTF-8, also the exact bytes as KEYBase64.
void put_output(json::object& out, const std::string& key, const std::string& bytes) {
  bool clean = true;
  out[key] = utf8_text(bytes, clean);
  if (!clean) {
    out[key + "Base64"] = qmp::encode_base64(bytes);
  }
}

json::value error_field(std::string message) {
  json::object out;
  out["error"] = std::move(message);
  return out;
}

json::object os_json(const qmp::GuestOsInfo& os) {
  json::object out;
  out["kernelRelease"] = os.kernel_release;
  out["kernelVersion"] = os.kernel_version;
  out["machine"] = os.machine;
  out["id"] = os.id;
  out["name"] = os.name;
  out["prettyName"] = os.pretty_name;
  out["version"] = os.version;
  out["versionId"] = os.version_id;
  return out;
}

json::object timezone_json(const qmp::GuestTimezone& zone) {
  json::object out;
  out["zone"] = zone.zone ? json::value(*zone.zone) : json::value(nullptr);
  out["offsetSeconds"] = zone.offset;
  return out;
}

json::array users_json(const std::vector<qmp::GuestUser>& users) {
  json::array out;
  for (const auto& user : users) {
    json::object entry;
    entry["user"] = user.user;
    if (user.domain) {
      entry["domain"] = *user.domain;
    }
    entry["loginTime"] = user.login_time;
    out.push_back(std::move(entry));
  }
  return out;
}

json::array filesystems_json(const std::vector<qmp::GuestFilesystem>& filesystems) {
  json::array out;
  for (const auto& fs : filesystems) {
    json::object entry;
    entry["name"] = fs.name;
    entry["mountpoint"] = fs.mountpoint;
    entry["type"] = fs.type;
    entry["usedBytes"] = fs.used_bytes ? json::value(*fs.used_bytes) : json::value(nullptr);
    entry["totalBytes"] = fs.total_bytes ? json::value(*fs.total_bytes) : json::value(nullptr);
    json::array disks;
    for (const auto& disk : fs.disks) {
      json::object d;
      d["dev"] = disk.dev ? json::value(*disk.dev) : json::value(nullptr);
      d["serial"] = disk.serial ? json::value(*disk.serial) : json::value(nullptr);
      d["busType"] = disk.bus_type;
      d["pciController"] = fmt::format("{:04x}:{:02x}:{:02x}.{:x}", disk.pci_controller.domain,
                                       disk.pci_controller.bus, disk.pci_controller.slot,
                                       disk.pci_controller.function);
      disks.push_back(std::move(d));
    }
    entry["disks"] = std::move(disks);
    out.push_back(std::move(entry));
  }
  return out;
}

json::array interfaces_json(const std::vector<qmp::GuestNetworkInterface>& interfaces) {
  json::array out;
  for (const auto& nic : interfaces) {
    json::object entry;
    entry["name"] = nic.name;
    entry["hardwareAddress"] = nic.hardware_address;
    json::array addresses;
    for (const auto& ip : nic.ip_addresses) {
      json::object a;
      a["type"] = ip.type == qmp::GuestIpAddress::Family::ipv4 ? "ipv4" : "ipv6";
      a["address"] = ip.address;
      a["prefix"] = ip.prefix;
      addresses.push_back(std::move(a));
    }
    entry["ipAddresses"] = std::move(addresses);
    out.push_back(std::move(entry));
  }
  return out;
}

}  // namespace

qmp::QgaOptions Vm::agent_options() {
  qmp::QgaOptions options;
  std::weak_ptr<Vm> weak = weak_from_this();
  auto seen = std::make_shared<std::uint64_t>(0);
  options.on_oversize = [weak, seen](const qmp::QmpError& error) {
    auto self = weak.lock();
    if (!self) {
      return;
    }
    // A hostile agent repeats itself after every reconnect: one line per run, not per ping.
    if ((*seen)++ > 0) {
      spdlog::debug("VM {}: {} (over-size message {} of this run)", self->name_, error.desc,
                    *seen);
      return;
    }
    std::string message = fmt::format("{}; qmd reconnects and resyncs with the next agent "
                                      "command (later ones of this run are logged at debug "
                                      "level)",
                                      error.desc);
    spdlog::warn("VM {}: {}", self->name_, message);
    self->publish("AgentMisbehaved", std::move(message));
  };
  return options;
}

qmp::QmpOptions Vm::qmp_options() {
  qmp::QmpOptions options;
  std::weak_ptr<Vm> weak = weak_from_this();
  options.on_oversize = [weak](const qmp::QmpError& error) {
    auto self = weak.lock();
    if (!self) {
      return;
    }
    std::string message = fmt::format(
        "{}; the VM keeps running without QMP (no QMP events; stop asks the guest agent or "
        "sends QEMU SIGTERM; kill works): stop and start it to get QMP back",
        error.desc);
    spdlog::warn("VM {}: {}", self->name_, message);
    self->publish("Error", std::move(message));
  };
  return options;
}

// One gather per agent command, each a few lines; long because it lists them all. Moves to
// structs (not JSON) with the runtime/API split.
asio::awaitable<std::expected<json::object, OpError>> Vm::guest_info() {
  auto run = run_;
  if (auto unreachable = co_await reach_agent(name_, state_, run)) {
    co_return std::unexpected(std::move(*unreachable));
  }
  auto info = co_await qmp::guest_info(run->agent);
  if (!info) {
    co_return std::unexpected(agent_error(name_, "guest-info", info.error()));
  }
  json::object out;
  json::object agent;
  agent["version"] = info->version;
  agent["supportedCommands"] = json::array(info->enabled_commands.begin(),
                                           info->enabled_commands.end());
  out["agent"] = std::move(agent);

  // Each field: absent from the agent's list -> an error naming the command; the agent's own
  // error -> that error; a timeout ends the whole request (the agent hangs; asking on would
  // only add a timeout per field).
  std::optional<OpError> hung;
  const auto gather = [&](const char* key, const char* command, const auto& result,
                          const auto& to_json) -> void {
    if (hung) {
      return;
    }
    if (!result) {
      if (result.error().kind == qmp::QmpError::Kind::timeout) {
        hung = agent_error(name_, command, result.error());
        return;
      }
      out[key] = error_field(result.error().to_string());
      return;
    }
    out[key] = to_json(*result);
  };
  const auto supported = [&](const char* command) {
    return std::ranges::find(info->enabled_commands, command) != info->enabled_commands.end();
  };
  const auto lacks = [&](const char* key, const char* command) {
    out[key] = error_field(
        fmt::format("the guest agent does not offer {} (disabled, or too old)", command));
  };

  if (supported("guest-get-osinfo")) {
    auto os = co_await qmp::guest_get_osinfo(run->agent);
    gather("os", "guest-get-osinfo", os, [](const auto& v) { return os_json(v); });
  } else {
    lacks("os", "guest-get-osinfo");
  }
  if (supported("guest-get-host-name")) {
    auto host = co_await qmp::guest_get_host_name(run->agent);
    gather("hostname", "guest-get-host-name", host,
           [](const std::string& v) { return json::value(v); });
  } else {
    lacks("hostname", "guest-get-host-name");
  }
  if (supported("guest-get-timezone")) {
    auto zone = co_await qmp::guest_get_timezone(run->agent);
    gather("timezone", "guest-get-timezone", zone,
           [](const auto& v) { return timezone_json(v); });
  } else {
    lacks("timezone", "guest-get-timezone");
  }
  if (supported("guest-get-users")) {
    auto users = co_await qmp::guest_get_users(run->agent);
    gather("users", "guest-get-users", users,
           [](const auto& v) { return users_json(v); });
  } else {
    lacks("users", "guest-get-users");
  }
  if (supported("guest-get-fsinfo")) {
    auto filesystems = co_await qmp::guest_get_fsinfo(run->agent);
    gather("filesystems", "guest-get-fsinfo", filesystems,
           [](const auto& v) { return filesystems_json(v); });
  } else {
    lacks("filesystems", "guest-get-fsinfo");
  }
  if (supported("guest-network-get-interfaces")) {
    auto interfaces = co_await qmp::guest_network_get_interfaces(run->agent);
    gather("interfaces", "guest-network-get-interfaces", interfaces,
           [](const auto& v) { return interfaces_json(v); });
  } else {
    lacks("interfaces", "guest-network-get-interfaces");
  }
  // Frozen, the agent disables most commands above; the status says why.
  auto frozen = co_await qmp::guest_fsfreeze_status(run->agent);
  gather("fsfreeze", "guest-fsfreeze-status", frozen, [](qmp::FsFreezeStatus s) {
    return json::value(s == qmp::FsFreezeStatus::frozen ? "frozen" : "thawed");
  });
  if (hung) {
    co_return std::unexpected(std::move(*hung));
  }
  co_return out;
}

asio::awaitable<std::expected<json::object, OpError>> Vm::guest_exec(
    std::string path, std::vector<std::string> args, std::chrono::seconds limit) {
  auto run = run_;
  if (auto unreachable = co_await reach_agent(name_, state_, run)) {
    co_return std::unexpected(std::move(*unreachable));
  }
  auto result = co_await qmp::guest_exec(run->agent, path, std::move(args), limit);
  if (!result) {
    co_return std::unexpected(agent_error(name_, "guest-exec of " + path, result.error()));
  }
  json::object out;
  out["exitCode"] = result->exit_code;
  if (result->signal) {
    out["signal"] = *result->signal;
  }
  put_output(out, "stdout", result->out);
  put_output(out, "stderr", result->err);
  out["truncated"] = result->truncated;
  co_return out;
}

asio::awaitable<OpResult> Vm::guest_ping() {
  auto run = run_;
  if (auto unreachable = co_await reach_agent(name_, state_, run)) {
    co_return std::unexpected(std::move(*unreachable));
  }
  co_return OpResult{};
}

asio::awaitable<OpResult> Vm::guest_set_password(std::string user, std::string password,
                                                 bool crypted) {
  auto run = run_;
  if (auto unreachable = co_await reach_agent(name_, state_, run)) {
    co_return std::unexpected(std::move(*unreachable));
  }
  auto done =
      co_await qmp::guest_set_user_password(run->agent, user, std::move(password), crypted);
  if (!done) {
    co_return std::unexpected(agent_error(
        name_, fmt::format("guest-set-user-password for user {}", user), done.error()));
  }
  publish("GuestPasswordSet", fmt::format("the password of guest user {} was set{}", user,
                                          crypted ? " (given crypted)" : ""));
  co_return OpResult{};
}

namespace {

// The automatic thaw's retries: the agent may be busy for a moment (a long exec), and a guest
// left frozen stalls every write in it. Waits of 1, 2 and 4 s.
constexpr int kAutoThawAttempts = 4;
constexpr auto kAutoThawFirstBackoff = 1s;

// Waits for the auto-thaw deadline, then thaws, retrying with a backoff. A cancelled timer
// (thawed, frozen again, the VM gone) ends it without a thaw; `give_up` publishes the last
// failure (Vm::publish is private).
template <typename RunPtr>
asio::awaitable<void> thaw_when_due(std::shared_ptr<Vm> vm, RunPtr run,
                                    std::shared_ptr<asio::steady_timer> timer,
                                    std::chrono::seconds after,
                                    std::function<void(std::string)> give_up) {
  std::chrono::steady_clock::duration backoff = kAutoThawFirstBackoff;
  for (int attempt = 1;; ++attempt) {
    boost::system::error_code ec;
    co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (ec || run->auto_thaw != timer || run->exited.is_set()) {
      co_return;
    }
    // Named, no ?: of temporaries: g++ 12 destroys those twice inside a co_await.
    std::string why = fmt::format("automatically, {} s after the freeze", after.count());
    if (attempt > 1) {
      why += fmt::format(", attempt {} of {}", attempt, kAutoThawAttempts);
    }
    const auto thawed = co_await vm->guest_thaw(std::move(why));
    if (thawed) {
      co_return;
    }
    if (attempt == kAutoThawAttempts) {
      give_up(
          fmt::format("the automatic thaw gave up after {} attempts: {}; the guest file "
                      "systems may still be frozen (qmctl thaw {})",
                      kAutoThawAttempts, thawed.error().message, vm->name()));
      co_return;
    }
    // The same timer: a thaw on request or a new freeze cancels the retry too.
    timer->expires_after(backoff);
    backoff *= 2;
  }
}

}  // namespace

asio::awaitable<std::expected<std::int64_t, OpError>> Vm::guest_freeze(
    std::chrono::seconds auto_thaw) {
  auto run = run_;
  if (auto unreachable = co_await reach_agent(name_, state_, run)) {
    co_return std::unexpected(std::move(*unreachable));
  }
  auto frozen = co_await qmp::guest_fsfreeze_freeze(run->agent);
  // A freeze that timed out may have frozen some file systems: the thaw must come anyway.
  if (frozen || frozen.error().kind == qmp::QmpError::Kind::timeout) {
    if (run->auto_thaw) {
      run->auto_thaw->cancel();
    }
    auto timer = std::make_shared<asio::steady_timer>(ctx_.executor, auto_thaw);
    run->auto_thaw = timer;
    auto self = shared_from_this();
    auto give_up = [self](std::string message) { self->publish("Error", std::move(message)); };
    auto watch = [self, run, timer, auto_thaw, give_up] {
      return thaw_when_due(self, run, timer, auto_thaw, give_up);
    };
    asio::co_spawn(ctx_.executor, std::move(watch), asio::detached);
  }
  if (!frozen) {
    co_return std::unexpected(agent_error(name_, "guest-fsfreeze-freeze", frozen.error()));
  }
  publish("GuestFrozen", fmt::format("{} guest file system(s) frozen; thawed automatically in "
                                     "{} s unless thawed before",
                                     *frozen, auto_thaw.count()));
  co_return *frozen;
}

asio::awaitable<std::expected<std::int64_t, OpError>> Vm::guest_thaw(std::string why) {
  auto run = run_;
  // Named: g++ 12 destroys a lambda temporary in a co_await full-expression twice.
  const auto attempt = [&]() -> asio::awaitable<std::expected<std::int64_t, OpError>> {
    if (auto unreachable = co_await reach_agent(name_, state_, run)) {
      co_return std::unexpected(std::move(*unreachable));
    }
    auto count = co_await qmp::guest_fsfreeze_thaw(run->agent);
    if (!count) {
      co_return std::unexpected(agent_error(name_, "guest-fsfreeze-thaw", count.error()));
    }
    co_return *count;
  };
  auto thawed = co_await attempt();
  if (!thawed) {
    // A guest left frozen stalls every write in it: worth an event even when a caller sees
    // the error. A pending automatic thaw stays armed.
    publish("Error", fmt::format("thawing the guest file systems ({}) failed: {}", why,
                                 thawed.error().message));
    co_return thawed;
  }
  if (run && run->auto_thaw) {
    run->auto_thaw->cancel();
    run->auto_thaw.reset();
  }
  publish("GuestThawed", fmt::format("{} guest file system(s) thawed {}", *thawed, why));
  co_return thawed;
}

asio::awaitable<OpResult> Vm::guest_sync_time() {
  auto run = run_;
  if (auto unreachable = co_await reach_agent(name_, state_, run)) {
    co_return std::unexpected(std::move(*unreachable));
  }
  const auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::system_clock::now().time_since_epoch());
  if (auto done = co_await qmp::guest_set_time(run->agent, now.count()); !done) {
    co_return std::unexpected(agent_error(name_, "guest-set-time", done.error()));
  }
  publish("GuestTimeSynced", "the guest clock was set to the host's");
  co_return OpResult{};
}

}  // namespace qmd::daemon
