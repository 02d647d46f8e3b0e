// Live device changes on a running VM: disks and NICs (device_add on a free PCIe root port,
// device_del + DEVICE_DELETED), vCPUs (query-hotpluggable-cpus), memory (virtio-mem
// requested-size) and the balloon. The QMP arguments come from devices/, the same functions
// coldplug renders from, so a hot-added device looks like a coldplugged one.
#include <fmt/format.h>
#include <sys/stat.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/json/serialize.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <regex>
#include <set>

#include "cmdline/devices_layout.hpp"
#include "daemon/host/tap.hpp"
#include "daemon/runtime/vm.hpp"
#include "devices/disk.hpp"
#include "devices/memory.hpp"
#include "devices/naming.hpp"
#include "devices/nic.hpp"
#include "devices/vcpu.hpp"
#include "policy/host_units.hpp"
#include "qmp/commands.hpp"

namespace qmd::daemon {

namespace json = boost::json;
using namespace std::chrono_literals;

struct Vm::Run::Hotplug {
  struct Disk {
    std::string bus;
    std::uint32_t lun = 0;  // scsi
  };
  struct Nic {
    std::string tap;  // bridge: the tap qmd made, deleted on detach
  };
  std::map<std::string, Disk> disks;              // added in this run, by spec name
  std::map<std::string, Nic> nics;                // added in this run, by spec name
  std::set<std::string> gone_disks, gone_nics;    // in the definition, detached in this run
  std::map<std::string, std::shared_ptr<Latch>> deleted;  // device id -> DEVICE_DELETED
  // An unplug that timed out: when the guest lets go after all, qmd frees the backend then.
  struct Late {
    std::string kind;  // disk|nic
    std::string name;
    bool in_spec = false;
    std::string tap;
  };
  std::map<std::string, Late> late;  // device id ->
};

namespace {

constexpr auto kUnplugLimit = 30s;

OpError bad_request(std::string message) {
  return op_error(OpError::Code::bad_request, std::move(message));
}
OpError conflict(std::string message) {
  return op_error(OpError::Code::conflict, std::move(message));
}

OpError qmp_failure(const std::string& vm, std::string_view what, const qmp::QmpError& error,
                    OpError::Code command_code = OpError::Code::failed) {
  const auto code = error.kind == qmp::QmpError::Kind::timeout   ? OpError::Code::timeout
                    : error.kind == qmp::QmpError::Kind::command ? command_code
                                                                 : OpError::Code::failed;
  return op_error(code, fmt::format("VM {}: {} failed: {}", vm, what, error.to_string()));
}

// Spec names (validation caps them at 24 so that node names stay within QEMU's 31).
bool valid_name(const std::string& name) {
  static const std::regex kName("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
  return name.size() <= 24 && std::regex_match(name, kName);
}

// qcow2 files start with "QFI\xfb"; everything else is attached raw.
std::string sniff_format(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  in.read(magic, sizeof(magic));
  return in.gcount() == 4 && std::memcmp(magic, "QFI\xfb", 4) == 0 ? "qcow2" : "raw";
}

// The spare pcie-root-ports (q35) are the root ports query-pci shows with nothing behind
// them: that covers ports whose device was unplugged, and never hands out a port whose
// device the guest has not released yet. On pc, the first free slot on pci.0.
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

asio::awaitable<qmp::QmpDone> run_call(qmp::QmpClient& qmp, const devices::QmpCall& call) {
  auto reply = co_await qmp.execute(call.execute, call.arguments);
  if (!reply) {
    co_return std::unexpected(reply.error());
  }
  co_return qmp::QmpDone{};
}

// --- the stored definition, edited as YAML (comments in it do not survive the round trip)

// The template that holds domain, volumes and networks: VirtualMachine's spec.template.spec,
// VirtualMachineInstance's spec.
YAML::Node template_spec(YAML::Node root) {
  if (root["kind"] && root["kind"].as<std::string>() == "VirtualMachine") {
    return root["spec"]["template"]["spec"];
  }
  return root["spec"];
}

std::expected<std::string, OpError> edit_definition(
    const std::string& text, const std::function<void(YAML::Node)>& edit) {
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

// Removes the entries named `name` from the sequence `list`.
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

// As the renderer decides it: q35 unless machine.type names another family.
bool is_q35(const policy::VmSpec& spec) {
  const auto type = spec.domain.machine.type.value_or("q35");
  return type.starts_with("q35") || type.starts_with("pc-q35");
}

std::string mac_or_stable(const std::string& vm, const Vm::InterfaceAttach& request) {
  return request.mac.empty() ? devices::stable_mac(vm, request.name) : request.mac;
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
      // virtio devices send one for their backend (path only), then one with the id.
      const auto* device = event.data.if_contains("device");
      if (device == nullptr || !device->is_string()) {
        return;
      }
      if (auto it = state->deleted.find(std::string(device->as_string()));
          it != state->deleted.end()) {
        it->second->set();
      } else if (auto late = state->late.find(std::string(device->as_string()));
                 late != state->late.end()) {
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
  auto parsed = parse_definition(ctx_, text, name_ + ".yaml");
  if (!parsed) {
    return std::unexpected(parsed.error());
  }
  const std::string previous = std::exchange(spec_text_, text);
  auto rendered = render();
  spec_text_ = previous;
  if (!rendered) {
    return std::unexpected(rendered.error());
  }
  return {};
}

OpResult Vm::save_definition(std::string text) {
  if (auto saved = ctx_.store.save_spec(name_, text); !saved) {
    return std::unexpected(op_error(OpError::Code::failed, saved.error()));
  }
  spec_text_ = std::move(text);
  publish("Updated", "definition updated by a hotplug change (--persist)");
  return {};
}

asio::awaitable<std::string> Vm::release_unplugged(std::shared_ptr<Run> run, std::string kind,
                                                   std::string name, bool in_spec,
                                                   std::string tap) {
  std::string leftover;
  if (!run->qmp || !run->hotplug) {
    co_return leftover;
  }
  auto& state = *run->hotplug;
  std::vector<devices::QmpCall> calls;
  if (kind == "disk") {
    devices::DiskParams params;
    params.name = name;
    calls = devices::disk_release(devices::disk_parts(params));
    state.disks.erase(name);
    if (in_spec) {
      state.gone_disks.insert(name);
    }
  } else {
    devices::NicParams params;
    params.name = name;
    calls = {devices::nic_release(devices::nic_parts(params))};
    state.nics.erase(name);
    if (in_spec) {
      state.gone_nics.insert(name);
    }
  }
  for (const auto& call : calls) {
    if (auto done = co_await run_call(*run->qmp, call); !done) {
      leftover += fmt::format("; {} {}: {}", call.execute, json::serialize(call.arguments),
                              done.error().to_string());
    }
  }
  if (!tap.empty() && std::ranges::find(run->taps, tap) != run->taps.end()) {
    if (auto deleted = delete_tap(tap); !deleted) {
      leftover += "; " + deleted.error();
    }
    std::erase(run->taps, tap);
  }
  publish(kind == "disk" ? "DiskDetached" : "InterfaceDetached",
          fmt::format("{} {} detached{}", kind == "disk" ? "disk" : "interface", name, leftover));
  co_return leftover;
}

// --- disks

asio::awaitable<OpResult> Vm::attach_disk(DiskAttach request) {
  auto guard = co_await lock_.lock();
  if (auto active = check_active("attach-disk"); !active) {
    co_return active;
  }
  auto run = run_;
  auto parsed = spec();
  if (!parsed) {
    co_return std::unexpected(parsed.error());
  }
  auto& state = hotplug_state(run);
  const auto& d = request;
  if (!valid_name(d.name)) {
    co_return std::unexpected(bad_request(fmt::format(
        "disk name \"{}\" must be 1-24 lower-case letters, digits and '-'", d.name)));
  }
  if (d.bus != "virtio" && d.bus != "scsi") {
    co_return std::unexpected(
        bad_request(fmt::format("bus \"{}\": hotplug takes virtio or scsi", d.bus)));
  }
  if (d.cache && *d.cache != "none" && *d.cache != "writethrough" && *d.cache != "writeback") {
    co_return std::unexpected(bad_request(
        fmt::format("cache \"{}\": use none, writethrough or writeback", *d.cache)));
  }
  if (d.format && *d.format != "raw" && *d.format != "qcow2") {
    co_return std::unexpected(
        bad_request(fmt::format("format \"{}\": use raw or qcow2", *d.format)));
  }
  const auto& spec_disks = parsed->domain.devices.disks;
  const bool in_spec = std::ranges::any_of(
      spec_disks, [&](const policy::DiskDevice& disk) { return disk.name == d.name; });
  if ((in_spec && !state.gone_disks.contains(d.name)) || state.disks.contains(d.name)) {
    co_return std::unexpected(
        conflict(fmt::format("VM {} already has a disk named {}", name_, d.name)));
  }
  if (in_spec && d.persist) {
    co_return std::unexpected(conflict(fmt::format(
        "disk {} is still in the definition of VM {} (detached for this run only); attach it "
        "without --persist, or detach it with --persist first",
        d.name, name_)));
  }
  struct stat st {};
  if (d.path.empty() || d.path.front() != '/') {
    co_return std::unexpected(
        bad_request(fmt::format("path \"{}\" must be absolute", d.path)));
  }
  if (::stat(d.path.c_str(), &st) != 0) {
    co_return std::unexpected(bad_request(
        fmt::format("cannot attach {}: {}", d.path, std::strerror(errno))));
  }
  if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
    co_return std::unexpected(
        bad_request(fmt::format("{} is neither a file nor a block device", d.path)));
  }

  devices::DiskParams params;
  params.name = d.name;
  params.path = d.path;
  params.host_device = S_ISBLK(st.st_mode);
  params.format = d.format.value_or(params.host_device ? "raw" : sniff_format(d.path));
  params.bus = d.bus;
  params.readonly = d.readonly;
  params.cache = d.cache;
  Run::Hotplug::Disk placed{d.bus, 0};
  if (d.bus == "virtio") {
    auto slot = co_await free_pci_slot(*run->qmp, name_, is_q35(*parsed));
    if (!slot) {
      co_return std::unexpected(slot.error());
    }
    params.pci = *slot;
  } else {
    const bool has_scsi = std::ranges::any_of(spec_disks, [](const policy::DiskDevice& disk) {
      return cmdline::disk_bus(disk) == "scsi";
    });
    if (!has_scsi) {
      co_return std::unexpected(conflict(fmt::format(
          "VM {} has no SCSI controller (it is rendered only for a spec with a scsi disk); "
          "attach with bus virtio",
          name_)));
    }
    std::set<std::uint32_t> used;
    std::uint32_t boot_luns = 0;
    for (const auto& disk : spec_disks) {
      boot_luns += cmdline::disk_bus(disk) == "scsi" ? 1 : 0;
    }
    for (std::uint32_t lun = 0; lun < boot_luns; ++lun) {
      used.insert(lun);
    }
    for (const auto& [_, disk] : state.disks) {
      if (disk.bus == "scsi") {
        used.insert(disk.lun);
      }
    }
    std::uint32_t lun = 0;
    while (used.contains(lun)) {
      ++lun;
    }
    params.controller_bus = "scsi0.0";
    params.unit = lun;
    placed.lun = lun;
  }

  std::optional<std::string> new_text;
  if (d.persist) {
    const auto add = [&](YAML::Node tmpl) {
      YAML::Node disk;
      disk["name"] = d.name;
      disk["disk"]["bus"] = d.bus;
      if (d.readonly) {
        disk["disk"]["readonly"] = true;
      }
      if (d.cache) {
        disk["cache"] = *d.cache;
      }
      tmpl["domain"]["devices"]["disks"].push_back(disk);
      YAML::Node volume;
      volume["name"] = d.name;
      if (params.host_device) {
        volume["block"]["path"] = d.path;
      } else {
        volume["file"]["path"] = d.path;
        volume["file"]["format"] = params.format;
      }
      tmpl["volumes"].push_back(volume);
    };
    auto edited = edit_definition(spec_text_, add);
    if (!edited) {
      co_return std::unexpected(edited.error());
    }
    if (auto valid = check_definition(*edited); !valid) {
      co_return std::unexpected(valid.error());
    }
    new_text = std::move(*edited);
  }

  const auto parts = devices::disk_parts(params);
  const auto calls = devices::disk_hotplug(parts);  // file node, format node, device
  const auto release = devices::disk_release(parts);  // format node, file node
  for (std::size_t i = 0; i < calls.size(); ++i) {
    auto done = co_await run_call(*run->qmp, calls[i]);
    if (done) {
      continue;
    }
    // Roll back the nodes this attach added, newest first (release is format, then file).
    for (std::size_t added = i; added > 0; --added) {
      (void)co_await run_call(*run->qmp, release[release.size() - added]);
    }
    const bool node_step = calls[i].execute == "blockdev-add";
    co_return std::unexpected(qmp_failure(
        name_, fmt::format("attaching disk {} ({})", d.name, calls[i].execute), done.error(),
        node_step ? OpError::Code::bad_request : OpError::Code::failed));
  }
  state.disks[d.name] = placed;
  state.gone_disks.erase(d.name);
  publish("DiskAttached", fmt::format("disk {} ({}, {}) attached on {}", d.name, d.path,
                                      params.format,
                                      params.pci ? params.pci->bus : params.controller_bus));
  if (new_text) {
    if (auto saved = save_definition(std::move(*new_text)); !saved) {
      co_return std::unexpected(op_error(
          OpError::Code::failed,
          fmt::format("disk {} is attached, but the definition was not saved: {}", d.name,
                      saved.error().message)));
    }
  }
  co_return OpResult{};
}

asio::awaitable<OpResult> Vm::detach_disk(std::string disk, bool persist) {
  auto guard = co_await lock_.lock();
  if (auto active = check_active("detach-disk"); !active) {
    co_return active;
  }
  auto run = run_;
  auto parsed = spec();
  if (!parsed) {
    co_return std::unexpected(parsed.error());
  }
  auto& state = hotplug_state(run);
  const bool in_spec =
      std::ranges::any_of(parsed->domain.devices.disks,
                          [&](const policy::DiskDevice& d) { return d.name == disk; });
  const bool attached =
      state.disks.contains(disk) || (in_spec && !state.gone_disks.contains(disk));
  if (!attached) {
    co_return std::unexpected(op_error(OpError::Code::not_found,
                                       fmt::format("VM {} has no disk named {}", name_, disk)));
  }
  std::optional<std::string> new_text;
  if (persist && in_spec) {
    const auto remove = [&](YAML::Node tmpl) {
      YAML::Node devs = tmpl["domain"]["devices"];
      remove_named(devs, "disks", disk);
      remove_named(tmpl, "volumes", disk);
    };
    auto edited = edit_definition(spec_text_, remove);
    if (!edited) {
      co_return std::unexpected(edited.error());
    }
    if (auto valid = check_definition(*edited); !valid) {
      co_return std::unexpected(valid.error());
    }
    new_text = std::move(*edited);
  }
  const std::string id = devices::disk_id(disk);
  if (auto unplugged = co_await unplug_device(run, id, "disk " + disk); !unplugged) {
    if (unplugged.error().code == OpError::Code::timeout) {
      state.late[id] = {"disk", disk, in_spec, ""};
    }
    co_return unplugged;
  }
  const std::string leftover = co_await release_unplugged(run, "disk", disk, in_spec, "");
  if (new_text) {
    if (auto saved = save_definition(std::move(*new_text)); !saved) {
      co_return saved;
    }
    state.gone_disks.erase(disk);
  }
  if (!leftover.empty()) {
    co_return std::unexpected(op_error(
        OpError::Code::failed,
        fmt::format("disk {} left the guest, but its block nodes stay{}", disk, leftover)));
  }
  co_return OpResult{};
}

// --- network interfaces

asio::awaitable<OpResult> Vm::attach_interface(InterfaceAttach request) {
  auto guard = co_await lock_.lock();
  if (auto active = check_active("attach-interface"); !active) {
    co_return active;
  }
  auto run = run_;
  auto parsed = spec();
  if (!parsed) {
    co_return std::unexpected(parsed.error());
  }
  auto& state = hotplug_state(run);
  const auto& r = request;
  if (!valid_name(r.name)) {
    co_return std::unexpected(bad_request(fmt::format(
        "interface name \"{}\" must be 1-24 lower-case letters, digits and '-'", r.name)));
  }
  if (r.binding != "user" && r.binding != "tap" && r.binding != "bridge") {
    co_return std::unexpected(bad_request(
        fmt::format("binding \"{}\": hotplug takes user, tap or bridge", r.binding)));
  }
  static const std::regex kMac("[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}");
  if (!r.mac.empty() && !std::regex_match(r.mac, kMac)) {
    co_return std::unexpected(
        bad_request(fmt::format("mac \"{}\" is not like 52:54:00:12:34:56", r.mac)));
  }
  const auto rendered_ifaces = cmdline::interfaces_to_render(*parsed);
  const bool in_spec =
      std::ranges::any_of(rendered_ifaces, [&](const policy::InterfaceDevice& iface) {
        return iface.name == r.name;
      });
  if ((in_spec && !state.gone_nics.contains(r.name)) || state.nics.contains(r.name)) {
    co_return std::unexpected(
        conflict(fmt::format("VM {} already has an interface named {}", name_, r.name)));
  }
  if (in_spec && r.persist) {
    co_return std::unexpected(conflict(fmt::format(
        "interface {} is still in the definition of VM {}; detach it with --persist first",
        r.name, name_)));
  }
  std::string bridge;
  if (r.binding == "bridge") {
    const auto found = ctx_.config.bridges.find(r.network);
    if (r.network.empty() || found == ctx_.config.bridges.end()) {
      co_return std::unexpected(bad_request(fmt::format(
          "a bridge binding needs a network that qmd.yaml's bridges maps to a host bridge; "
          "\"{}\" is not one",
          r.network)));
    }
    bridge = found->second;
  }
  if (r.binding == "tap" && r.tap_name.empty()) {
    co_return std::unexpected(bad_request("a tap binding needs tapName (an existing host tap)"));
  }

  devices::NicParams params;
  params.name = r.name;
  params.mac = mac_or_stable(name_, r);
  params.tap = r.binding != "user";
  params.tap_name = r.binding == "bridge" ? devices::bridge_tap_name(name_, r.name) : r.tap_name;
  params.vhost = ctx_.host.vhost_net;  // as coldplug renders it
  auto slot = co_await free_pci_slot(*run->qmp, name_, is_q35(*parsed));
  if (!slot) {
    co_return std::unexpected(slot.error());
  }
  params.pci = *slot;

  std::optional<std::string> new_text;
  if (r.persist) {
    const auto add = [&](YAML::Node tmpl) {
      YAML::Node iface;
      iface["name"] = r.name;
      iface["macAddress"] = params.mac;
      YAML::Node network;
      network["name"] = r.name;
      if (r.binding == "user") {
        iface["user"] = YAML::Node(YAML::NodeType::Map);
        network["pod"] = YAML::Node(YAML::NodeType::Map);
      } else if (r.binding == "bridge") {
        iface["bridge"] = YAML::Node(YAML::NodeType::Map);
        network["multus"]["networkName"] = r.network;
      } else {
        iface["tap"]["name"] = r.tap_name;
        network["multus"]["networkName"] = r.network.empty() ? r.name : r.network;
      }
      tmpl["domain"]["devices"]["interfaces"].push_back(iface);
      tmpl["networks"].push_back(network);
    };
    auto edited = edit_definition(spec_text_, add);
    if (!edited) {
      co_return std::unexpected(edited.error());
    }
    if (auto valid = check_definition(*edited); !valid) {
      co_return std::unexpected(valid.error());
    }
    new_text = std::move(*edited);
  }

  Run::Hotplug::Nic placed;
  if (r.binding == "bridge") {
    TapSpec tap{params.tap_name, bridge, false, std::nullopt, std::nullopt};
    if (ctx_.qemu_user) {
      tap.owner = ctx_.qemu_user->uid;
      tap.group = ctx_.qemu_user->gid;
    }
    if (auto made = create_tap(tap); !made) {
      co_return std::unexpected(op_error(OpError::Code::failed, made.error()));
    }
    placed.tap = params.tap_name;
    run->taps.push_back(params.tap_name);  // teardown deletes it if the VM stops first
  }
  const auto drop_tap = [&] {
    if (!placed.tap.empty()) {
      (void)delete_tap(placed.tap);
      std::erase(run->taps, placed.tap);
    }
  };
  const auto parts = devices::nic_parts(params);
  const auto calls = devices::nic_hotplug(parts);  // netdev_add, device_add
  for (std::size_t i = 0; i < calls.size(); ++i) {
    auto done = co_await run_call(*run->qmp, calls[i]);
    if (done) {
      continue;
    }
    if (i > 0) {
      (void)co_await run_call(*run->qmp, devices::nic_release(parts));
    }
    drop_tap();
    co_return std::unexpected(qmp_failure(
        name_, fmt::format("attaching interface {} ({})", r.name, calls[i].execute),
        done.error(), OpError::Code::bad_request));
  }
  state.nics[r.name] = placed;
  state.gone_nics.erase(r.name);
  publish("InterfaceAttached", fmt::format("interface {} ({}, mac {}) attached on {}", r.name,
                                           r.binding, params.mac, params.pci.bus));
  if (new_text) {
    if (auto saved = save_definition(std::move(*new_text)); !saved) {
      co_return std::unexpected(op_error(
          OpError::Code::failed,
          fmt::format("interface {} is attached, but the definition was not saved: {}", r.name,
                      saved.error().message)));
    }
  }
  co_return OpResult{};
}

asio::awaitable<OpResult> Vm::detach_interface(std::string iface, bool persist) {
  auto guard = co_await lock_.lock();
  if (auto active = check_active("detach-interface"); !active) {
    co_return active;
  }
  auto run = run_;
  auto parsed = spec();
  if (!parsed) {
    co_return std::unexpected(parsed.error());
  }
  auto& state = hotplug_state(run);
  const auto rendered_ifaces = cmdline::interfaces_to_render(*parsed);
  const auto spec_iface =
      std::ranges::find_if(rendered_ifaces, [&](const policy::InterfaceDevice& i) {
        return i.name == iface;
      });
  const bool in_spec = spec_iface != rendered_ifaces.end();
  const bool attached =
      state.nics.contains(iface) || (in_spec && !state.gone_nics.contains(iface));
  if (!attached) {
    co_return std::unexpected(op_error(
        OpError::Code::not_found, fmt::format("VM {} has no interface named {}", name_, iface)));
  }
  std::optional<std::string> new_text;
  if (persist && in_spec) {
    const auto remove = [&](YAML::Node tmpl) {
      YAML::Node devs = tmpl["domain"]["devices"];
      remove_named(devs, "interfaces", iface);
      remove_named(tmpl, "networks", iface);
    };
    auto edited = edit_definition(spec_text_, remove);
    if (!edited) {
      co_return std::unexpected(edited.error());
    }
    if (auto valid = check_definition(*edited); !valid) {
      co_return std::unexpected(valid.error());
    }
    new_text = std::move(*edited);
  }
  std::string tap;
  if (auto hot = state.nics.find(iface); hot != state.nics.end()) {
    tap = hot->second.tap;
  } else if (in_spec && spec_iface->binding == "bridge") {
    tap = devices::bridge_tap_name(name_, iface);
  }
  const std::string id = devices::nic_id(iface);
  if (auto unplugged = co_await unplug_device(run, id, "interface " + iface); !unplugged) {
    if (unplugged.error().code == OpError::Code::timeout) {
      state.late[id] = {"nic", iface, in_spec, tap};
    }
    co_return unplugged;
  }
  const std::string leftover = co_await release_unplugged(run, "nic", iface, in_spec, tap);
  if (new_text) {
    if (auto saved = save_definition(std::move(*new_text)); !saved) {
      co_return saved;
    }
    state.gone_nics.erase(iface);
  }
  if (!leftover.empty()) {
    co_return std::unexpected(op_error(
        OpError::Code::failed,
        fmt::format("interface {} left the guest, but not everything was released{}", iface,
                    leftover)));
  }
  co_return OpResult{};
}

// --- vCPUs

asio::awaitable<std::expected<json::object, OpError>> Vm::set_cpus(std::uint32_t count) {
  auto guard = co_await lock_.lock();
  if (auto active = check_active("set-cpus"); !active) {
    co_return std::unexpected(active.error());
  }
  auto run = run_;
  auto parsed = spec();
  if (!parsed) {
    co_return std::unexpected(parsed.error());
  }
  if (count == 0) {
    co_return std::unexpected(bad_request("a VM needs at least 1 vCPU"));
  }
  auto slots = co_await qmp::query_hotpluggable_cpus(*run->qmp);
  if (!slots) {
    co_return std::unexpected(qmp_failure(name_, "query-hotpluggable-cpus", slots.error()));
  }
  const auto& cpu = parsed->domain.cpu;
  std::uint32_t max = 0, plugged = 0;
  for (const auto& slot : *slots) {
    max += static_cast<std::uint32_t>(slot.vcpus_count);
    plugged += slot.plugged() ? static_cast<std::uint32_t>(slot.vcpus_count) : 0;
  }
  if (count > max) {
    co_return std::unexpected(bad_request(fmt::format(
        "{} vCPUs is beyond VM {}'s limit of {} (cpu.maxSockets {} x cores {} x threads {}); "
        "raise maxSockets in the definition and restart",
        count, name_, max, cpu.max_sockets.value_or(cpu.sockets.value_or(1)),
        cpu.cores.value_or(1), cpu.threads.value_or(1))));
  }
  // Lowest socket/core/thread first when adding, highest first when removing.
  auto order = *slots;
  std::ranges::sort(order, [](const qmp::HotpluggableCpu& a, const qmp::HotpluggableCpu& b) {
    return std::tuple(a.socket_id.value_or(0), a.core_id.value_or(0), a.thread_id.value_or(0)) <
           std::tuple(b.socket_id.value_or(0), b.core_id.value_or(0), b.thread_id.value_or(0));
  });
  std::uint32_t now = plugged;
  for (const auto& slot : order) {
    if (now >= count) {
      break;
    }
    if (slot.plugged()) {
      continue;
    }
    json::object props;
    props["socket-id"] = slot.socket_id.value_or(0);
    props["core-id"] = slot.core_id.value_or(0);
    props["thread-id"] = slot.thread_id.value_or(0);
    if (slot.node_id) {
      props["node-id"] = *slot.node_id;
    }
    const auto call = devices::vcpu_add(slot.type, props);
    if (auto done = co_await run_call(*run->qmp, call); !done) {
      co_return std::unexpected(qmp_failure(
          name_, fmt::format("adding a vCPU ({} now)", now), done.error()));
    }
    now += static_cast<std::uint32_t>(slot.vcpus_count);
  }
  for (auto slot = order.rbegin(); slot != order.rend() && now > count; ++slot) {
    if (!slot->plugged() || !slot->qom_path->starts_with("/machine/peripheral/")) {
      continue;  // a boot vCPU: QEMU cannot unplug those
    }
    const std::string id = slot->qom_path->substr(slot->qom_path->rfind('/') + 1);
    if (auto gone = co_await unplug_device(run, id, "vCPU " + id); !gone) {
      co_return std::unexpected(gone.error());
    }
    now -= static_cast<std::uint32_t>(slot->vcpus_count);
  }
  if (now > count) {
    co_return std::unexpected(conflict(fmt::format(
        "VM {} has {} vCPUs; only hot-added ones can be removed, the boot vCPUs stay", name_,
        now)));
  }
  json::object out;
  out["count"] = now;
  out["max"] = max;
  // The pinning plan covers the boot vCPUs only; hot-added ones float over the host.
  out["pinned"] = !run->pinned.empty() && now == plugged;
  publish("CpusChanged", fmt::format("{} vCPUs (of at most {})", now, max));
  co_return out;
}

// --- memory

asio::awaitable<OpResult> Vm::set_memory(std::uint64_t bytes) {
  auto guard = co_await lock_.lock();
  if (auto active = check_active("set-memory"); !active) {
    co_return active;
  }
  auto run = run_;
  auto parsed = spec();
  if (!parsed) {
    co_return std::unexpected(parsed.error());
  }
  const auto& mem = parsed->domain.memory;
  if (!cmdline::wants_virtio_mem(*parsed)) {
    co_return std::unexpected(conflict(fmt::format(
        "VM {} has no virtio-mem (memory.maxGuest above memory.guest); use qmctl balloon {} "
        "SIZE, or set maxGuest and restart",
        name_, name_)));
  }
  const std::uint64_t guest = mem.guest.value_or(0);
  const std::uint64_t max = *mem.max_guest;
  if (bytes < guest || bytes > max) {
    co_return std::unexpected(bad_request(fmt::format(
        "{} is outside VM {}'s range: memory.guest {} to memory.maxGuest {}",
        policy::format_binary_quantity(bytes), name_, policy::format_binary_quantity(guest),
        policy::format_binary_quantity(max))));
  }
  const std::uint64_t block = std::max<std::uint64_t>(2ULL << 20, mem.hugepages_page_size.value_or(0));
  if ((bytes - guest) % block != 0) {
    co_return std::unexpected(bad_request(fmt::format(
        "{} - memory.guest must be a multiple of the virtio-mem block size {}",
        policy::format_binary_quantity(bytes), policy::format_binary_quantity(block))));
  }
  const auto call = devices::virtio_mem_resize(bytes - guest);
  auto done = co_await run_call(*run->qmp, call);
  if (!done) {
    co_return std::unexpected(qmp_failure(name_, "qom-set requested-size", done.error()));
  }
  publish("MemoryChanged", fmt::format("virtio-mem requested size {}: {} in all",
                                       policy::format_binary_quantity(bytes - guest),
                                       policy::format_binary_quantity(bytes)));
  co_return OpResult{};
}

asio::awaitable<OpResult> Vm::set_balloon(std::uint64_t bytes) {
  auto guard = co_await lock_.lock();
  if (auto active = check_active("balloon"); !active) {
    co_return active;
  }
  auto run = run_;
  auto parsed = spec();
  if (!parsed) {
    co_return std::unexpected(parsed.error());
  }
  if (cmdline::wants_virtio_mem(*parsed)) {
    co_return std::unexpected(conflict(fmt::format(
        "VM {} has virtio-mem: size its memory with qmctl set-memory {} SIZE", name_, name_)));
  }
  if (!cmdline::wants_balloon(*parsed)) {
    co_return std::unexpected(conflict(fmt::format(
        "VM {} has no balloon (autoattachMemBalloon: false)", name_)));
  }
  const std::uint64_t guest = parsed->domain.memory.guest.value_or(0);
  if (bytes == 0 || (guest != 0 && bytes > guest)) {
    co_return std::unexpected(bad_request(fmt::format(
        "balloon target {} must be above 0 and at most memory.guest {}",
        policy::format_binary_quantity(bytes), policy::format_binary_quantity(guest))));
  }
  auto done = co_await qmp::balloon(*run->qmp, static_cast<std::int64_t>(bytes));
  if (!done) {
    co_return std::unexpected(qmp_failure(name_, "balloon", done.error()));
  }
  publish("BalloonChanged",
          fmt::format("balloon target {}", policy::format_binary_quantity(bytes)));
  co_return OpResult{};
}

}  // namespace qmd::daemon
