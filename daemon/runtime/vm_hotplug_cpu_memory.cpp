// vCPUs (query-hotpluggable-cpus, device_add/device_del of a CPU), memory (virtio-mem
// requested-size) and the balloon. Unlike disks and NICs these change a count, not a device
// list, so --persist rewrites cpu.sockets or memory.guest.
#include <fmt/format.h>

#include <algorithm>

#include "cmdline/devices_layout.hpp"
#include "daemon/runtime/vm_hotplug_core.hpp"
#include "devices/memory.hpp"
#include "devices/vcpu.hpp"
#include "policy/host_units.hpp"
#include "qmp/commands.hpp"

namespace qmd::daemon {

namespace json = boost::json;
using hotplug::bad_request;
using hotplug::conflict;
using hotplug::qmp_failure;
using hotplug::run_call;

namespace {
constexpr std::string_view kPeripheral = "/machine/peripheral/";

struct CpuSlots {
  std::uint32_t max = 0;      // vCPUs all slots hold
  std::uint32_t plugged = 0;  // ... and those plugged now
};

CpuSlots count_slots(const std::vector<qmp::HotpluggableCpu>& slots) {
  CpuSlots out;
  for (const auto& slot : slots) {
    out.max += static_cast<std::uint32_t>(slot.vcpus_count);
    out.plugged += slot.plugged() ? static_cast<std::uint32_t>(slot.vcpus_count) : 0;
  }
  return out;
}

OpError beyond_limit(const std::string& vm, const policy::CpuSpec& cpu, std::uint32_t count,
                     std::uint32_t max) {
  return bad_request(fmt::format(
      "{} vCPUs is beyond VM {}'s limit of {} (cpu.maxSockets {} x cores {} x threads {}); "
      "raise maxSockets in the definition and restart",
      count, vm, max, cpu.max_sockets.value_or(cpu.sockets.value_or(1)), cpu.cores.value_or(1),
      cpu.threads.value_or(1)));
}

// The definition with cpu.sockets for `count` vCPUs (--persist).
std::expected<std::string, OpError> with_sockets(
    const std::string& text, const policy::CpuSpec& cpu, std::uint32_t count,
    const std::function<OpResult(const std::string&)>& check) {
  // -smp counts sockets of cores x threads; the definition can only hold whole sockets.
  const std::uint32_t per_socket = cpu.cores.value_or(1) * cpu.threads.value_or(1);
  if (count % per_socket != 0) {
    return std::unexpected(bad_request(fmt::format(
        "--persist stores cpu.sockets: {} vCPUs is not a whole number of sockets of {} "
        "(cores x threads)",
        count, per_socket)));
  }
  const auto sockets = count / per_socket;
  const auto edit = [sockets](YAML::Node tmpl) { tmpl["domain"]["cpu"]["sockets"] = sockets; };
  return hotplug::checked_edit(text, edit, check);
}

// Lowest socket/core/thread first: the order slots are added in (and removed in reverse).
std::vector<qmp::HotpluggableCpu> in_plug_order(std::vector<qmp::HotpluggableCpu> slots) {
  std::ranges::sort(slots, [](const qmp::HotpluggableCpu& a, const qmp::HotpluggableCpu& b) {
    return std::tuple(a.socket_id.value_or(0), a.core_id.value_or(0), a.thread_id.value_or(0)) <
           std::tuple(b.socket_id.value_or(0), b.core_id.value_or(0), b.thread_id.value_or(0));
  });
  return slots;
}

// device_add's properties for an empty slot (QMP arguments, not an API view).
json::object slot_props(const qmp::HotpluggableCpu& slot) {
  json::object props;
  props["socket-id"] = slot.socket_id.value_or(0);
  props["core-id"] = slot.core_id.value_or(0);
  props["thread-id"] = slot.thread_id.value_or(0);
  if (slot.node_id) {
    props["node-id"] = *slot.node_id;
  }
  return props;
}

}  // namespace

asio::awaitable<OpResult> Vm::pin_vcpu(HotplugScope& scope, std::string id) {
  auto& run = *scope.run;
  auto cpus = co_await qmp::query_cpus_fast(*run.qmp);
  if (!cpus) {
    co_return std::unexpected(qmp_failure(name_, "query-cpus-fast", cpus.error()));
  }
  const std::string path = std::string(kPeripheral) + id;
  const auto cpu = std::ranges::find(*cpus, path, &qmp::CpuInfo::qom_path);
  if (cpu == cpus->end()) {
    co_return std::unexpected(op_error(
        OpError::Code::failed, fmt::format("VM {}: vCPU {} is not in query-cpus-fast", name_, id)));
  }
  // The same placement as at start, for this one vCPU; the emulator thread keeps its CPU.
  cmdline::RenderResult one;
  one.pinning.dedicated = true;
  auto held = run.pinned;  // apply_pinning records only the CPUs it took in this call
  if (auto failed = apply_pinning(one, {*cpu})) {
    run.pinned = std::move(held);
    co_return std::unexpected(
        op_error(OpError::Code::conflict, fmt::format("VM {}: {}", name_, *failed)));
  }
  const int host_cpu = run.pinned.front();
  held.push_back(host_cpu);
  run.pinned = std::move(held);
  scope.state->pinned_vcpus[id] = host_cpu;
  co_return OpResult{};
}

void Vm::unpin_vcpu(HotplugScope& scope, const std::string& id) {
  auto& pinned = scope.state->pinned_vcpus;
  if (auto it = pinned.find(id); it != pinned.end()) {
    ctx_.pinned_cpus.erase(it->second);
    std::erase(scope.run->pinned, it->second);
    pinned.erase(it);
  }
}

asio::awaitable<std::expected<CpuChange, OpError>> Vm::set_cpus(std::uint32_t count,
                                                                bool persist) {
  if (auto movable = check_migration(VmAction::hotplug, "set-cpus"); !movable) {
    co_return std::unexpected(movable.error());
  }
  auto guard = co_await lock_.lock();
  auto scope = hotplug_scope("set-cpus");
  if (!scope) {
    co_return std::unexpected(scope.error());
  }
  if (count == 0) {
    co_return std::unexpected(bad_request("a VM needs at least 1 vCPU"));
  }
  auto slots = co_await qmp::query_hotpluggable_cpus(*scope->run->qmp);
  if (!slots) {
    co_return std::unexpected(qmp_failure(name_, "query-hotpluggable-cpus", slots.error()));
  }
  const auto& cpu = scope->spec.domain.cpu;
  const CpuSlots held = count_slots(*slots);
  if (count > held.max) {
    co_return std::unexpected(beyond_limit(name_, cpu, count, held.max));
  }
  std::optional<std::string> new_text;
  if (persist) {
    auto edited = with_sockets(spec_text_, cpu, count, definition_check());
    if (!edited) {
      co_return std::unexpected(edited.error());
    }
    new_text = std::move(*edited);
  }
  const bool pin = cpu.dedicated_cpu_placement.value_or(false);
  auto plugged = co_await plug_vcpus(*scope, in_plug_order(*slots), held.plugged, count, pin);
  if (!plugged) {
    co_return std::unexpected(plugged.error());
  }
  auto now = co_await unplug_vcpus(*scope, in_plug_order(*slots), *plugged, count);
  if (!now) {
    co_return std::unexpected(now.error());
  }
  const CpuChange change{
      .count = *now, .max = held.max, .pinned = pin && !scope->run->pinned.empty()};
  auto done = finish_cpus(change, std::move(new_text));
  if (!done) {
    co_return std::unexpected(done.error());
  }
  co_return change;
}

// Lowest slots first, until `count` vCPUs are plugged; returns how many are.
asio::awaitable<std::expected<std::uint32_t, OpError>> Vm::plug_vcpus(
    HotplugScope& scope, std::vector<qmp::HotpluggableCpu> order, std::uint32_t now,
    std::uint32_t count, bool pin) {
  for (const auto& slot : order) {
    if (now >= count) {
      break;
    }
    if (slot.plugged()) {
      continue;
    }
    const auto call = devices::vcpu_add(slot.type, slot_props(slot));
    if (auto done = co_await run_call(*scope.run->qmp, call); !done) {
      co_return std::unexpected(qmp_failure(
          name_, fmt::format("adding a vCPU ({} now)", now), done.error()));
    }
    const std::string id(call.arguments.at("id").as_string());
    if (pin) {
      // An unpinned vCPU would float over other VMs' dedicated CPUs: take it out again.
      if (auto pinned = co_await pin_vcpu(scope, id); !pinned) {
        (void)co_await unplug_device(scope.run, id, "vCPU " + id);
        co_return std::unexpected(pinned.error());
      }
    }
    now += static_cast<std::uint32_t>(slot.vcpus_count);
  }
  co_return now;
}

// Highest hot-added slots first, until no more than `count` are plugged; returns how many are.
asio::awaitable<std::expected<std::uint32_t, OpError>> Vm::unplug_vcpus(
    HotplugScope& scope, std::vector<qmp::HotpluggableCpu> order, std::uint32_t now,
    std::uint32_t count) {
  for (auto slot = order.rbegin(); slot != order.rend() && now > count; ++slot) {
    if (!slot->plugged() || !slot->qom_path->starts_with(kPeripheral)) {
      continue;  // a boot vCPU: QEMU cannot unplug those
    }
    const std::string id = slot->qom_path->substr(kPeripheral.size());
    if (auto gone = co_await unplug_device(scope.run, id, "vCPU " + id); !gone) {
      co_return std::unexpected(gone.error());
    }
    unpin_vcpu(scope, id);
    now -= static_cast<std::uint32_t>(slot->vcpus_count);
  }
  if (now > count) {
    co_return std::unexpected(conflict(fmt::format(
        "VM {} has {} vCPUs; only hot-added ones can be removed, the boot vCPUs stay", name_,
        now)));
  }
  co_return now;
}

// The change is in: said in an event, and kept in the definition when asked (`new_text`).
OpResult Vm::finish_cpus(const CpuChange& change, std::optional<std::string> new_text) {
  publish("CpusChanged", fmt::format("{} vCPUs (of at most {})", change.count, change.max));
  if (!new_text) {
    return {};
  }
  if (auto saved = save_definition(std::move(*new_text)); !saved) {
    return std::unexpected(op_error(
        OpError::Code::failed,
        fmt::format("the VM has {} vCPUs, but the definition was not saved: {}", change.count,
                    saved.error().message)));
  }
  return {};
}

asio::awaitable<OpResult> Vm::set_memory(std::uint64_t bytes, bool persist) {
  if (auto movable = check_migration(VmAction::hotplug, "set-memory"); !movable) {
    co_return movable;
  }
  auto guard = co_await lock_.lock();
  auto scope = hotplug_scope("set-memory");
  if (!scope) {
    co_return std::unexpected(scope.error());
  }
  const auto& mem = scope->spec.domain.memory;
  if (!cmdline::wants_virtio_mem(scope->spec)) {
    co_return std::unexpected(conflict(fmt::format(
        "VM {} has no virtio-mem (memory.maxGuest above memory.guest); use qmctl balloon {} "
        "SIZE, or set maxGuest and restart",
        name_, name_)));
  }
  // virtio-mem grows the memory QEMU booted with, which a persisted set-memory may since
  // have written into memory.guest: ask QEMU, not the definition.
  auto summary = co_await scope->run->qmp->execute("query-memory-size-summary");
  if (!summary) {
    co_return std::unexpected(qmp_failure(name_, "query-memory-size-summary", summary.error()));
  }
  const auto* base = summary->is_object() ? summary->as_object().if_contains("base-memory")
                                           : nullptr;
  const std::uint64_t guest = base != nullptr && base->is_number()
                                  ? base->to_number<std::uint64_t>()
                                  : mem.guest.value_or(0);
  const std::uint64_t max = *mem.max_guest;
  if (bytes < guest || bytes > max) {
    co_return std::unexpected(bad_request(fmt::format(
        "{} is outside VM {}'s range: memory.guest {} to memory.maxGuest {}",
        policy::format_binary_quantity(bytes), name_, policy::format_binary_quantity(guest),
        policy::format_binary_quantity(max))));
  }
  const std::uint64_t block =
      std::max<std::uint64_t>(2ULL << 20, mem.hugepages_page_size.value_or(0));
  if ((bytes - guest) % block != 0) {
    co_return std::unexpected(bad_request(fmt::format(
        "{} - memory.guest must be a multiple of the virtio-mem block size {}",
        policy::format_binary_quantity(bytes), policy::format_binary_quantity(block))));
  }
  std::optional<std::string> new_text;
  if (persist) {
    // The next start boots with all of it; maxGuest stays the ceiling for virtio-mem.
    const auto size = policy::format_binary_quantity(bytes);
    const auto edit = [size](YAML::Node tmpl) { tmpl["domain"]["memory"]["guest"] = size; };
    auto edited = hotplug::checked_edit(spec_text_, edit, definition_check());
    if (!edited) {
      co_return std::unexpected(edited.error());
    }
    new_text = std::move(*edited);
  }
  const auto call = devices::virtio_mem_resize(bytes - guest);
  auto done = co_await run_call(*scope->run->qmp, call);
  if (!done) {
    co_return std::unexpected(qmp_failure(name_, "qom-set requested-size", done.error()));
  }
  publish("MemoryChanged", fmt::format("virtio-mem requested size {}: {} in all",
                                       policy::format_binary_quantity(bytes - guest),
                                       policy::format_binary_quantity(bytes)));
  if (new_text) {
    if (auto saved = save_definition(std::move(*new_text)); !saved) {
      co_return std::unexpected(op_error(
          OpError::Code::failed,
          fmt::format("the guest has {}, but the definition was not saved: {}",
                      policy::format_binary_quantity(bytes), saved.error().message)));
    }
  }
  co_return OpResult{};
}

asio::awaitable<OpResult> Vm::set_balloon(std::uint64_t bytes) {
  if (auto movable = check_migration(VmAction::hotplug, "balloon"); !movable) {
    co_return movable;
  }
  auto guard = co_await lock_.lock();
  auto scope = hotplug_scope("balloon");
  if (!scope) {
    co_return std::unexpected(scope.error());
  }
  if (cmdline::wants_virtio_mem(scope->spec)) {
    co_return std::unexpected(conflict(fmt::format(
        "VM {} has virtio-mem: size its memory with qmctl set-memory {} SIZE", name_, name_)));
  }
  if (!cmdline::wants_balloon(scope->spec)) {
    co_return std::unexpected(
        conflict(fmt::format("VM {} has no balloon (autoattachMemBalloon: false)", name_)));
  }
  const std::uint64_t guest = scope->spec.domain.memory.guest.value_or(0);
  if (bytes == 0 || (guest != 0 && bytes > guest)) {
    co_return std::unexpected(bad_request(fmt::format(
        "balloon target {} must be above 0 and at most memory.guest {}",
        policy::format_binary_quantity(bytes), policy::format_binary_quantity(guest))));
  }
  auto done = co_await qmp::balloon(*scope->run->qmp, static_cast<std::int64_t>(bytes));
  if (!done) {
    co_return std::unexpected(qmp_failure(name_, "balloon", done.error()));
  }
  publish("BalloonChanged",
          fmt::format("balloon target {}", policy::format_binary_quantity(bytes)));
  co_return OpResult{};
}

}  // namespace qmd::daemon
