// Live device changes on a running VM, the part every kind shares: the run's hotplug state
// and its DEVICE_DELETED waiters, one attach core and one detach core that the disk and NIC
// files (vm_hotplug_disk.cpp, vm_hotplug_nic.cpp) feed with plans, and the stored definition
// edited for --persist. The QMP arguments come from devices/, the same functions coldplug
// renders from, so a hot-added device looks like a coldplugged one.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/json/serialize.hpp>
#include <regex>

#include "daemon/host/tap.hpp"
#include "daemon/runtime/vm_hotplug_core.hpp"
#include "devices/disk.hpp"
#include "devices/nic.hpp"
#include "qmp/commands.hpp"

namespace qmd::daemon {

namespace json = boost::json;
using namespace std::chrono_literals;

namespace hotplug {

OpError bad_request(std::string message) {
  return op_error(OpError::Code::bad_request, std::move(message));
}
OpError conflict(std::string message) {
  return op_error(OpError::Code::conflict, std::move(message));
}

OpError qmp_failure(const std::string& vm, std::string_view what, const qmp::QmpError& error,
                    OpError::Code command_code) {
  const auto code = error.kind == qmp::QmpError::Kind::timeout   ? OpError::Code::timeout
                    : error.kind == qmp::QmpError::Kind::command ? command_code
                                                                 : OpError::Code::failed;
  return op_error(code, fmt::format("VM {}: {} failed: {}", vm, what, error.to_string()));
}

bool valid_name(const std::string& name) {
  static const std::regex kName("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
  return name.size() <= 24 && std::regex_match(name, kName);
}

std::string sniff_format(int fd) {
  char magic[4] = {};
  const bool qcow2 =
      ::pread(fd, magic, sizeof magic, 0) == 4 && std::memcmp(magic, "QFI\xfb", 4) == 0;
  return qcow2 ? "qcow2" : "raw";
}

bool is_q35(const policy::VmSpec& spec) {
  const auto type = spec.domain.machine.type.value_or("q35");
  return type.starts_with("q35") || type.starts_with("pc-q35");
}

const policy::DiskDevice* definition_disk(const policy::VmSpec& spec, const std::string& name) {
  const auto& disks = spec.domain.devices.disks;
  const auto it = std::ranges::find_if(
      disks, [&](const policy::DiskDevice& d) { return d.name == name; });
  return it == disks.end() ? nullptr : &*it;
}

asio::awaitable<qmp::QmpDone> run_call(qmp::QmpClient& qmp, const devices::QmpCall& call) {
  auto reply = co_await qmp.execute(call.execute, call.arguments);
  if (!reply) {
    co_return std::unexpected(reply.error());
  }
  co_return qmp::QmpDone{};
}

asio::awaitable<qmp::QmpDone> run_step(qmp::QmpClient& qmp, const Step& step) {
  if (!step.fd) {
    auto done = co_await run_call(qmp, step.call);
    co_return done;
  }
  UniqueFd fd = step.fd();
  const auto* name = step.call.arguments.if_contains("fdname");
  std::string fdname = name != nullptr && name->is_string() ? std::string(name->as_string()) : "";
  auto sent = co_await qmp::getfd(qmp, std::move(fd), std::move(fdname));
  co_return sent;
}

// The spare pcie-root-ports (q35) are the root ports query-pci shows with nothing behind
// them: that covers ports whose device was unplugged, and never hands out a port whose
// device the guest has not released yet.
asio::awaitable<std::expected<devices::PciSlot, OpError>> free_pci_slot(qmp::QmpClient& qmp,
                                                                      const std::string& vm,
                                                                      bool q35) {
  auto reply = co_await qmp.execute("query-pci");
  if (!reply) {
    co_return std::unexpected(qmp_failure(vm, "query-pci", reply.error()));
  }
  std::optional<std::uint32_t> best_port;
  std::set<std::int64_t> used_slots;
  if (reply->is_array()) {
    for (const auto& bus : reply->as_array()) {
      const auto* devs = bus.is_object() ? bus.as_object().if_contains("devices") : nullptr;
      if (devs == nullptr || !devs->is_array()) {
        continue;
      }
      for (const auto& dev : devs->as_array()) {
        if (!dev.is_object()) {
          continue;
        }
        const auto& d = dev.as_object();
        if (const auto* slot = d.if_contains("slot"); slot != nullptr && slot->is_int64()) {
          used_slots.insert(slot->as_int64());
        }
        const auto* id = d.if_contains("qdev_id");
        const auto* bridge = d.if_contains("pci_bridge");
        if (id == nullptr || !id->is_string() || bridge == nullptr || !bridge->is_object()) {
          continue;
        }
        const std::string qdev(id->as_string());
        if (!qdev.starts_with("pci.")) {
          continue;
        }
        const auto* behind = bridge->as_object().if_contains("devices");
        if (behind != nullptr && behind->is_array() && !behind->as_array().empty()) {
          continue;
        }
        try {
          const auto n = static_cast<std::uint32_t>(std::stoul(qdev.substr(4)));
          if (!best_port || n < *best_port) {
            best_port = n;
          }
        } catch (const std::exception&) {
        }
      }
    }
  }
  if (q35) {
    if (!best_port) {
      co_return std::unexpected(conflict(fmt::format(
          "VM {} has no free PCIe root port left for hotplug (q35 renders 4 spare ones); "
          "detach a device first, or add this one to the definition and restart",
          vm)));
    }
    co_return devices::PciSlot{fmt::format("pci.{}", *best_port), "0x0"};
  }
  for (std::int64_t slot = 3; slot < 32; ++slot) {
    if (!used_slots.contains(slot)) {
      co_return devices::PciSlot{"pci.0", fmt::format("{:#x}", slot)};
    }
  }
  co_return std::unexpected(conflict(fmt::format("VM {} has no free slot on pci.0", vm)));
}

// --- the stored definition, edited as YAML (comments in it do not survive the round trip)

namespace {
// The template that holds domain, volumes and networks: VirtualMachine's spec.template.spec,
// VirtualMachineInstance's spec.
YAML::Node template_spec(YAML::Node root) {
  if (root["kind"] && root["kind"].as<std::string>() == "VirtualMachine") {
    return root["spec"]["template"]["spec"];
  }
  return root["spec"];
}
}  // namespace

std::expected<std::string, OpError> edit_definition(const std::string& text,
                                                    const DefinitionEdit& edit) {
  try {
    YAML::Node root = YAML::Load(text);
    edit(template_spec(root));
    YAML::Emitter out;
    out << root;
    return std::string(out.c_str()) + "\n";
  } catch (const YAML::Exception& e) {
    return std::unexpected(
        op_error(OpError::Code::failed, fmt::format("cannot edit the definition: {}", e.what())));
  }
}

void remove_named(YAML::Node parent, const char* key, const std::string& name) {
  YAML::Node list = parent[key];
  if (!list || !list.IsSequence()) {
    return;
  }
  YAML::Node kept(YAML::NodeType::Sequence);
  for (const auto& item : list) {
    if (!(item["name"] && item["name"].as<std::string>() == name)) {
      kept.push_back(item);
    }
  }
  parent[key] = kept;
}

std::expected<std::string, OpError> checked_edit(
    const std::string& text, const DefinitionEdit& edit,
    const std::function<OpResult(const std::string&)>& check) {
  auto edited = edit_definition(text, edit);
  if (!edited) {
    return edited;
  }
  // A definition that would not start fails now, before the hotplug, not at the next start.
  if (auto valid = check(*edited); !valid) {
    return std::unexpected(valid.error());
  }
  return edited;
}

}  // namespace hotplug

using hotplug::qmp_failure;
using hotplug::run_call;

namespace {

constexpr auto kUnplugLimit = 30s;

// The id a DEVICE_DELETED event is about, or "" for one to ignore. virtio devices send one
// for their backend (path only), then one with the id. A hot-removed x86 vCPU on QEMU 7.2
// sends none for itself, only one for its child "/machine/peripheral/ID/lapic", which goes
// with it.
std::string deleted_device_id(const json::object& data) {
  const auto* device = data.if_contains("device");
  if (device != nullptr && device->is_string()) {
    return std::string(device->as_string());
  }
  const auto* path = data.if_contains("path");
  if (path == nullptr || !path->is_string()) {
    return "";
  }
  constexpr std::string_view kPrefix = "/machine/peripheral/", kLapic = "/lapic";
  const std::string_view p = path->as_string();
  if (!p.starts_with(kPrefix) || !p.ends_with(kLapic) ||
      p.size() <= kPrefix.size() + kLapic.size()) {
    return "";
  }
  const auto id = p.substr(kPrefix.size(), p.size() - kPrefix.size() - kLapic.size());
  return id.find('/') == std::string_view::npos ? std::string(id) : "";
}

}  // namespace

Vm::Run::Hotplug& Vm::hotplug_state(const std::shared_ptr<Run>& run) {
  if (!run->hotplug) {
    run->hotplug = std::make_shared<Run::Hotplug>();
    std::weak_ptr<Vm> weak_vm = weak_from_this();
    std::weak_ptr<Run> weak_run = run;
    auto executor = ctx_.executor;
    run->qmp->on_event([weak_vm, weak_run, executor](const qmp::QmpEvent& event) {
      auto self = weak_vm.lock();
      auto run = weak_run.lock();
      if (!self || !run || !run->hotplug || event.name != "DEVICE_DELETED") {
        return;
      }
      auto* state = run->hotplug.get();
      const std::string id = deleted_device_id(event.data);
      if (id.empty()) {
        return;
      }
      if (auto it = state->deleted.find(id); it != state->deleted.end()) {
        it->second->set();
      } else if (auto late = state->late.find(id); late != state->late.end()) {
        const auto what = late->second;
        state->late.erase(late);
        auto release = [self, run, what] {
          return self->release_unplugged(run, what.kind, what.name, what.in_spec, what.tap);
        };
        asio::co_spawn(executor, std::move(release), asio::detached);
      }
    });
  }
  return *run->hotplug;
}

std::expected<Vm::HotplugScope, OpError> Vm::hotplug_scope(std::string_view action) {
  if (auto allowed = check(VmAction::hotplug, action); !allowed) {
    return std::unexpected(allowed.error());
  }
  auto parsed = spec();
  if (!parsed) {
    return std::unexpected(parsed.error());
  }
  return HotplugScope{run_, std::move(*parsed), &hotplug_state(run_)};
}

asio::awaitable<OpResult> Vm::unplug_device(std::shared_ptr<Run> run, std::string id,
                                            std::string what) {
  auto& state = hotplug_state(run);
  auto released = std::make_shared<Latch>(ctx_.executor);
  state.late.erase(id);  // this attempt waits for the event itself
  state.deleted[id] = released;  // before device_del: the event may come before its reply
  auto sent = co_await qmp::device_del(*run->qmp, id);
  if (!sent) {
    state.deleted.erase(id);
    co_return std::unexpected(qmp_failure(name_, "device_del " + id, sent.error()));
  }
  const bool gone = co_await released->wait_for(kUnplugLimit);
  state.deleted.erase(id);
  if (!gone) {
    co_return std::unexpected(op_error(
        OpError::Code::timeout,
        fmt::format("the guest did not release {} within {} s; it stays attached (should the "
                    "guest let go later, qmd frees its backend then)",
                    what, kUnplugLimit.count())));
  }
  co_return OpResult{};
}

OpResult Vm::check_definition(const std::string& text) {
  auto parsed = parse_user_definition(ctx_, text, name_ + ".yaml");
  if (!parsed) {
    return std::unexpected(parsed.error());
  }
  std::string previous = set_spec_text(text);
  auto rendered = render();
  set_spec_text(std::move(previous));
  if (!rendered) {
    return std::unexpected(rendered.error());
  }
  return {};
}

std::function<OpResult(const std::string&)> Vm::definition_check() {
  return [this](const std::string& text) { return check_definition(text); };
}

OpResult Vm::save_definition(std::string text) {
  if (auto saved = ctx_.store.save_spec(name_, text); !saved) {
    return std::unexpected(op_error(OpError::Code::failed, saved.error()));
  }
  set_spec_text(std::move(text));
  publish("Updated", "definition updated by a hotplug change (--persist)");
  return {};
}

asio::awaitable<OpResult> Vm::attach_planned(HotplugScope& scope, AttachPlan plan) {
  auto& run = *scope.run;
  std::optional<std::string> new_text;
  if (plan.persist) {
    auto edited = hotplug::checked_edit(spec_text_, plan.persist, definition_check());
    if (!edited) {
      co_return std::unexpected(edited.error());
    }
    new_text = std::move(*edited);
  }
  if (plan.prepare_host) {
    if (auto prepared = plan.prepare_host(); !prepared) {
      co_return prepared;
    }
  }
  for (std::size_t i = 0; i < plan.steps.size(); ++i) {
    auto done = co_await run_step(*run.qmp, plan.steps[i]);
    if (done) {
      continue;
    }
    // Take away what this attach added, newest first, so the name can be used again.
    for (std::size_t added = i; added > 0; --added) {
      if (const auto& undo = plan.steps[added - 1].undo) {
        (void)co_await run_call(*run.qmp, *undo);
      }
    }
    if (plan.undo_host) {
      plan.undo_host();
    }
    co_return std::unexpected(qmp_failure(
        name_, fmt::format("attaching {} {} ({})", plan.noun, plan.name,
                           plan.steps[i].call.execute),
        done.error(), plan.steps[i].failure));
  }
  auto& devices = scope.state->of(plan.kind);
  devices.added[plan.name] = plan.placed;
  devices.gone.erase(plan.name);
  publish(plan.event, plan.message);
  if (new_text) {
    if (auto saved = save_definition(std::move(*new_text)); !saved) {
      co_return std::unexpected(op_error(
          OpError::Code::failed,
          fmt::format("{} {} is attached, but the definition was not saved: {}", plan.noun,
                      plan.name, saved.error().message)));
    }
  }
  co_return OpResult{};
}

asio::awaitable<OpResult> Vm::detach_planned(HotplugScope& scope, DetachPlan plan,
                                             bool persist) {
  auto& state = *scope.state;
  if (!state.of(plan.kind).attached(plan.name, plan.in_spec)) {
    co_return std::unexpected(
        op_error(OpError::Code::not_found,
                 fmt::format("VM {} has no {} named {}", name_, plan.noun, plan.name)));
  }
  std::optional<std::string> new_text;
  if (persist && plan.in_spec) {
    auto edited = hotplug::checked_edit(spec_text_, plan.persist, definition_check());
    if (!edited) {
      co_return std::unexpected(edited.error());
    }
    new_text = std::move(*edited);
  }
  auto unplugged = co_await unplug_device(scope.run, plan.id, plan.noun + " " + plan.name);
  if (!unplugged) {
    if (unplugged.error().code == OpError::Code::timeout) {
      state.late[plan.id] = {plan.kind, plan.name, plan.in_spec, plan.tap};
    }
    co_return unplugged;
  }
  const std::string leftover =
      co_await release_unplugged(scope.run, plan.kind, plan.name, plan.in_spec, plan.tap);
  if (new_text) {
    if (auto saved = save_definition(std::move(*new_text)); !saved) {
      co_return saved;
    }
    state.of(plan.kind).gone.erase(plan.name);
  }
  if (!leftover.empty()) {
    co_return std::unexpected(
        op_error(OpError::Code::failed, fmt::format("{} {} left the guest, but {}{}", plan.noun,
                                                    plan.name, plan.leftover, leftover)));
  }
  co_return OpResult{};
}

asio::awaitable<std::string> Vm::release_unplugged(std::shared_ptr<Run> run, std::string kind,
                                                   std::string name, bool in_spec,
                                                   std::string tap) {
  std::string leftover;
  if (!run->qmp || !run->hotplug) {
    co_return leftover;
  }
  const bool disk = kind == hotplug::kDisk;
  std::vector<devices::QmpCall> calls;
  if (disk) {
    devices::DiskParams params;
    params.name = name;
    calls = devices::disk_release(devices::disk_parts(params));
  } else {
    devices::NicParams params;
    params.name = name;
    calls = {devices::nic_release(devices::nic_parts(params))};
  }
  auto& devices = run->hotplug->of(kind);
  devices.added.erase(name);
  if (in_spec) {
    devices.gone.insert(name);
  }
  for (const auto& call : calls) {
    if (auto done = co_await run_call(*run->qmp, call); !done) {
      leftover += fmt::format("; {} {}: {}", call.execute, json::serialize(call.arguments),
                              done.error().to_string());
    }
  }
  if (!tap.empty() && std::ranges::find(run->network.taps, tap) != run->network.taps.end()) {
    if (auto deleted = delete_tap(tap); !deleted) {
      leftover += "; " + deleted.error();
    }
    std::erase(run->network.taps, tap);
    if (std::ranges::find(run->network.nat_taps, tap) != run->network.nat_taps.end()) {
      co_await leave_nat(*run, tap);  // a masquerade interface: its guard goes too
    }
  }
  if (!disk) {
    co_await forget_hot_nic(name);  // out of the record, its lease freed
  }
  publish(disk ? "DiskDetached" : "InterfaceDetached",
          fmt::format("{} {} detached{}", disk ? "disk" : "interface", name, leftover));
  co_return leftover;
}

}  // namespace qmd::daemon
