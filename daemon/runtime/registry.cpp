#include "daemon/runtime/registry.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <boost/json/serialize.hpp>
#include <filesystem>
#include <fstream>
#include <random>

#include "daemon/network/nat_network.hpp"
#include "daemon/async/blocking.hpp"
#include "daemon/runtime/bridge_attach.hpp"
#include "daemon/runtime/volume_sources.hpp"
#include "daemon/storage/claim_ops.hpp"
#include "daemon/storage/places.hpp"
#include "daemon/store/remove_tree.hpp"

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
      // An incoming migration that an earlier qmd did not finish. Past the postcopy switch
      // the guest is here and adopt keeps it arriving; before it the source still has the
      // VM, and whatever QEMU is left goes, and so does the definition.
      const Vm* raw = vm.get();
      vm->set_discard([this, name = entry.name, raw] { discard(name, raw); });
      const bool adopted = co_await vm->adopt();
      if (adopted && vm->state() == VmState::migrating) {
        continue;
      }
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
  if (auto clash = uuid_conflict(record.uuid, name)) {
    co_return std::unexpected(*clash);
  }
  record.created_at = format_time(std::chrono::system_clock::now());
  auto vm = std::make_shared<Vm>(ctx_, name, text, record);
  if (auto rendered = vm->render(); !rendered) {
    co_return std::unexpected(rendered.error());
  }
  if (auto stored = store_new(name, text, record); !stored) {
    co_return std::unexpected(stored.error());
  }
  vms_.emplace(name, vm);
  // dataVolumeTemplates: the claims are made now; a VM whose claims cannot be made is not
  // defined (the claims it made are gone again).
  if (auto made = co_await vm->provision(); !made) {
    vms_.erase(name);
    (void)ctx_.store.remove(name);
    co_return std::unexpected(made.error());
  }
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
  if (ctx_.nat) {  // its NAT addresses are free again
    std::string gone = name;
    co_await ctx_.nat->forget(gone);
  }
  std::string gone_bridged = name;  // and those on the bridges qmd makes
  co_await forget_bridge_leases(ctx_, gone_bridged);
  ctx_.events.publish(
      Event{std::chrono::system_clock::now(), name, "Deleted", "stopped", "definition removed"});
  co_await delete_owned_claims(name, vm->record().owned_claims);
  co_return OpResult{};
}

// KubeVirt deletes a VM's data volumes with it: the claims qmd made for `vm`'s
// dataVolumeTemplates go, except one another VM uses now (kept, and said so).
asio::awaitable<void> Registry::delete_owned_claims(std::string vm,
                                                    std::vector<std::string> claims) {
  for (const auto& claim : claims) {
    std::vector<std::string> users;
    for (const auto& [name, other] : vms_) {
      auto spec = other->definition();
      if (spec && uses_claim(*spec, claim)) {
        users.push_back(name);
      }
    }
    std::string message;
    if (!users.empty()) {
      message = fmt::format("claim {} (made for {}) is kept: VM {} uses it", claim, vm,
                            fmt::join(users, ", "));
    } else {
      auto job = [places = storage::places_of(ctx_.config), claim] {
        return storage::delete_claim(places, claim);
      };
      auto deleted = co_await run_blocking(ctx_.blocking, std::move(job));
      message = deleted ? fmt::format("claim {} deleted with VM {}", claim, vm)
                        : fmt::format("claim {} of VM {} not deleted: {}", claim, vm,
                                      deleted.error());
    }
    ctx_.events.publish(
        Event{std::chrono::system_clock::now(), vm, "ClaimDeleted", "stopped", message});
  }
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

std::vector<UuidHeld> Registry::held_uuids() const {
  std::vector<UuidHeld> held;
  for (const auto& [name, vm] : vms_) {
    if (!vm->record().migrated_to.empty()) {
      continue;  // it runs on another qmd now
    }
    held.push_back({name, vm->record().uuid});
    if (auto spec = vm->definition(); spec && spec->domain.firmware.uuid) {
      held.push_back({name, *spec->domain.firmware.uuid});
    }
  }
  return held;
}

std::optional<OpError> Registry::uuid_conflict(std::string_view uuid,
                                               std::string_view self) const {
  if (auto why = uuid_refusal(uuid, self, held_uuids())) {
    return op_error(OpError::Code::conflict, fmt::format("VM {}: {}", self, *why));
  }
  return std::nullopt;
}

Vm::DefinitionCheck Registry::update_check(std::string self) const {
  return [this, self](const policy::VmSpec& spec) -> std::optional<OpError> {
    if (!spec.domain.firmware.uuid) {
      return std::nullopt;  // the VM keeps the uuid it has
    }
    return uuid_conflict(*spec.domain.firmware.uuid, self);
  };
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

}  // namespace qmd::daemon
