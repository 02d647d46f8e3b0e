// A uid per VM (qemuUids): a QEMU taken over by its guest reaches only its own VM's files and
// sockets, never another VM's, since no two VMs share a uid. The VM keeps its uid while it
// is defined, so its VARS and TPM state at rest belong to no uid another VM may get.
#include <fmt/format.h>

#include "daemon/runtime/blocking.hpp"
#include "daemon/runtime/vm.hpp"

namespace qmd::daemon {

std::optional<Credentials> Vm::qemu_owner() const {
  if (!ctx_.qemu_uids || !record_.qemu_uid) {
    return ctx_.qemu_user;
  }
  return Credentials{*record_.qemu_uid, *record_.qemu_uid, ctx_.qemu_uids->groups()};
}

asio::awaitable<OpResult> Vm::claim_qemu_uid() {
  if (!ctx_.qemu_uids) {
    co_return OpResult{};
  }
  const UidRange range = ctx_.qemu_uids->range();
  auto scan = [range] { return ids_in_use(range); };
  const std::map<uid_t, std::string> running = co_await run_blocking(ctx_.blocking, scan);
  if (record_.qemu_uid && range.contains(*record_.qemu_uid)) {
    const auto stray = running.find(*record_.qemu_uid);
    if (stray == running.end()) {
      co_return OpResult{};
    }
    co_return std::unexpected(op_error(
        OpError::Code::conflict,
        fmt::format("VM {}: {} still runs with uid {}, this VM's QEMU uid; qmd starts no QEMU "
                    "beside a process it did not start: end that process, then start again",
                    name_, stray->second, *record_.qemu_uid)));
  }
  std::set<uid_t> busy;
  for (const auto& [uid, who] : running) {
    busy.insert(uid);
  }
  const auto taken = ctx_.qemu_uids->take(busy);
  if (!taken) {
    co_return std::unexpected(op_error(
        OpError::Code::conflict,
        fmt::format("VM {}: every uid of qemuUids ({}–{}) is held by a VM or used by a "
                    "process; raise qemuUids.count in qmd.yaml or delete VMs",
                    name_, range.first, range.end() - 1)));
  }
  if (record_.qemu_uid) {
    ctx_.qemu_uids->release(*record_.qemu_uid);
  }
  record_.qemu_uid = *taken;
  save_record();
  co_return OpResult{};
}

}  // namespace qmd::daemon
