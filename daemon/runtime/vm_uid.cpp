// A uid per VM (qemuUids): a QEMU taken over by its guest reaches only its own VM's files and
// sockets, never another VM's, since no two VMs share a uid. The VM keeps its uid while it
// is defined, so its VARS and TPM state at rest belong to no uid another VM may get.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <memory>

#include "daemon/async/blocking.hpp"
#include "daemon/runtime/proc_files.hpp"
#include "daemon/runtime/vm.hpp"
#include "daemon/store/dir_fd.hpp"

namespace qmd::daemon {

namespace {

// The uid of the one QEMU (`binary`) on this host whose argv holds `-uuid UUID`: the source
// of a migration between two qmds of this host. Nothing when none or more than one does (a
// QEMU may rewrite its own argv, never its executable: two claimants give nothing), or when
// it runs as a system or login uid. Reads /proc: off the loop thread.
std::optional<uid_t> source_qemu_uid(const std::string& uuid, const std::string& binary) {
  std::error_code ec;
  const auto exe = std::filesystem::canonical(binary, ec);
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir("/proc"), ::closedir);
  if (ec || !dir) {
    return std::nullopt;
  }
  const std::string wanted = std::string("-uuid") + '\0' + uuid + '\0';
  std::optional<uid_t> found;
  int matches = 0;
  while (const dirent* entry = ::readdir(dir.get())) {
    const std::string name = entry->d_name;
    if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) {
      continue;
    }
    const std::string base = "/proc/" + name;
    if (read_proc_file(base + "/cmdline").find(wanted) == std::string::npos ||
        std::filesystem::read_symlink(base + "/exe", ec) != exe || ec) {
      continue;
    }
    const auto ids = status_ids("\n" + read_proc_file(base + "/status"));
    if (!ids.empty()) {
      found = static_cast<uid_t>(ids.front());
      ++matches;
    }
  }
  if (matches != 1 || *found < 65536) {
    return std::nullopt;
  }
  return found;
}

// Hands `path` (a file, or a directory and all beneath it) to `owner` through descriptors,
// never through a link. Off the loop thread.
bool hand_over(const std::string& path, PathOwner owner) {
  auto parent = open_parent(path);
  if (!parent) {
    return false;
  }
  if (UniqueFd dir = open_dir_nofollow(parent->first.get(), parent->second.c_str())) {
    chown_tree_at(dir.get(), owner);
    return true;
  }
  UniqueFd file(::openat(parent->first.get(), parent->second.c_str(),
                         O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  struct stat st {};
  return file && ::fstat(file.get(), &st) == 0 && S_ISREG(st.st_mode) && st.st_nlink == 1 &&
         ::fchown(file.get(), owner.uid, owner.gid) == 0;
}

}  // namespace

asio::awaitable<void> Vm::return_borrowed_uid() {
  if (!ctx_.qemu_uids || !record_.qemu_uid ||
      ctx_.qemu_uids->range().contains(*record_.qemu_uid)) {
    co_return;
  }
  const cmdline::VmPaths where = paths();
  auto hand = [vars = where.nvram(true), tpm = where.tpm_state_dir(true), run = where.run_dir] {
    hand_over(vars, self_owner());
    hand_over(tpm, self_owner());
    return hand_over(run, self_owner());
  };
  co_await run_blocking(ctx_.blocking, std::move(hand));
  record_.qemu_uid.reset();
  save_record();
}

std::optional<Credentials> Vm::qemu_owner() const {
  if (!ctx_.qemu_uids || !record_.qemu_uid) {
    return ctx_.qemu_user;
  }
  return Credentials{*record_.qemu_uid, *record_.qemu_uid, ctx_.qemu_uids->groups()};
}

asio::awaitable<OpResult> Vm::claim_qemu_uid(bool source_on_this_host) {
  if (!ctx_.qemu_uids) {
    co_return OpResult{};
  }
  // An arrival from a qmd of this host runs as its source QEMU's uid (the same VM): the
  // source QEMU then reaches the stream's and NBD's sockets in this VM's run dir.
  // Only over a unix socket: the real source runs here, so a process faking its -uuid makes
  // two claimants and gets nothing; an arrival from another host never takes a local uid.
  if (source_on_this_host && record_.incoming && !record_.qemu_uid && !record_.uuid.empty()) {
    auto find = [uuid = record_.uuid, binary = ctx_.config.qemu_binary] {
      return source_qemu_uid(uuid, binary);
    };
    const std::optional<uid_t> source = co_await run_blocking(ctx_.blocking, find);
    if (source && !ctx_.qemu_uids->held(*source)) {
      record_.qemu_uid = *source;
      ctx_.qemu_uids->hold(*source);
      save_record();
      co_return OpResult{};
    }
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
