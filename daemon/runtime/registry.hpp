#pragma once
// Every VM this qmd knows, by name: defined from the store at start (and adopted when still
// running), created, updated and deleted through the API. Lives on the loop thread.
#include <boost/asio/awaitable.hpp>
#include <expected>
#include <map>
#include <optional>
#include <set>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "daemon/runtime/context.hpp"
#include "daemon/runtime/op_error.hpp"
#include "daemon/runtime/uuid_clash.hpp"
#include "daemon/runtime/vm.hpp"

namespace qmd::daemon {

class Registry {
 public:
  explicit Registry(DaemonContext& ctx) : ctx_(ctx) {}

  // Loads every stored VM and adopts the ones still running. The runStrategy Always VMs that
  // are not running wait in take_autostart() (autostart.hpp starts them once the API is up).
  // Returns what went wrong per VM.
  asio::awaitable<std::vector<std::string>> load();
  std::vector<std::shared_ptr<Vm>> take_autostart() { return std::move(autostart_); }

  std::shared_ptr<Vm> find(const std::string& name) const;
  std::vector<std::shared_ptr<Vm>> all() const;
  std::size_t size() const { return vms_.size(); }
  // visit(const Vm&) for every VM in name order, copying nothing: the VM list of 1 000 VMs.
  // `visit` must not co_await, nor add or remove VMs.
  template <typename Visit>
  void each(Visit&& visit) const {
    for (const auto& [name, vm] : vms_) {
      visit(std::as_const(*vm));
    }
  }

  // A new VM from a spec text; Conflict when the name exists. The spec must render on this
  // host (a bad spec never reaches QEMU); nothing is stored when it does not.
  asio::awaitable<std::expected<std::shared_ptr<Vm>, OpError>> create(std::string text,
                                                                      std::string file);
  asio::awaitable<OpResult> remove(const std::string& name, bool force);

  // Live migration, destination side: a VM arriving from another qmd. Defines it (marked
  // incoming), starts QEMU waiting for the stream and returns {"name", "uri"}; any failure
  // leaves nothing behind. A record of a VM that once migrated away from here ("migrated")
  // is replaced: the VM is coming back.
  using IncomingRequest = migration::IncomingRequest;
  // What an update of VM `self` must pass besides its own checks: its firmware.uuid, when it
  // sets one, is no other VM's (Conflict naming that VM).
  Vm::DefinitionCheck update_check(std::string self) const;
  asio::awaitable<std::expected<migration::IncomingReady, OpError>> incoming(
      IncomingRequest request);

 private:
  DaemonContext& ctx_;
  // Writes a new VM's spec and record; nothing stays stored when either fails.
  OpResult store_new(const std::string& name, const std::string& text, const VmRecord& record);
  asio::awaitable<void> delete_owned_claims(std::string vm, std::vector<std::string> claims);
  void discard(const std::string& name, const Vm* vm);
  // Every uuid a VM here holds (uuid_clash.hpp), but those of VMs now running elsewhere.
  std::vector<UuidHeld> held_uuids() const;
  std::optional<OpError> uuid_conflict(std::string_view uuid, std::string_view self) const;
  // Live migration, destination side (registry_incoming.cpp): the checks before anything is
  // stored, and how the arriving VM's QEMU starts.
  std::expected<std::shared_ptr<Vm>, OpError> admit_incoming(const IncomingRequest& request);
  std::expected<Vm::IncomingStart, OpError> arrival_start(IncomingRequest request, const Vm& vm);
  // Where the incoming QEMU listens: a unix socket in its run dir, or migration.address.
  std::expected<std::string, OpError> incoming_uri(const IncomingRequest& request,
                                                   const Vm& vm);
  // The NBD server's SocketAddress for copyStorage: beside the stream (unix or tcp).
  std::expected<migration::NbdAddress, OpError> nbd_address(const std::string& uri,
                                                            const Vm& vm);
  std::set<std::uint16_t> incoming_ports_;  // handed out, QEMU not listening yet
  std::map<std::string, std::shared_ptr<Vm>> vms_;
  std::vector<std::shared_ptr<Vm>> autostart_;  // found by load(), not started yet
};

std::string new_uuid();

}  // namespace qmd::daemon
