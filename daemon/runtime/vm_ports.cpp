// Port forwards (interfaces[].ports) and the passt sidecars of an unprivileged qmd's
// masquerade interfaces: which host port each forward uses, held for the run and given back
// at its end; passt started before QEMU (it must listen), found again by a restarted qmd,
// and never left behind.
#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "daemon/host/port_forward.hpp"
#include "daemon/async/blocking.hpp"
#include "daemon/runtime/proc_files.hpp"
#include "daemon/runtime/vm.hpp"
#include "daemon/store/dir_fd.hpp"
#include "daemon/launch/file_tail.hpp"

namespace qmd::daemon {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t kTailLines = 20;
constexpr int kAllocateAttempts = 3;

std::string holder_name(const std::string& vm, const policy::PortForward& f) {
  return fmt::format("VM {} (interface {})", vm, f.interface);
}

// Whether process `pid` runs `binary` (the file its /proc exe opens is that file: same device
// and inode, whatever mount namespace passt made itself) as `uid` (real and effective): a pid
// file and a command line anyone can write or imitate are not enough.
bool runs_as(pid_t pid, const std::string& binary, uid_t uid) {
  struct stat exe {};
  struct stat wanted {};
  if (::stat(fmt::format("/proc/{}/exe", pid).c_str(), &exe) != 0 ||
      ::stat(binary.c_str(), &wanted) != 0 || exe.st_dev != wanted.st_dev ||
      exe.st_ino != wanted.st_ino) {
    return false;
  }
  return runs_with_uid(pid, uid);
}

}  // namespace

std::vector<policy::PortForward> Vm::port_forwards() const {
  return run_ ? run_->network.forwards : std::vector<policy::PortForward>{};
}

asio::awaitable<std::expected<std::vector<policy::PortForward>, OpError>> Vm::choose_forwards() {
  auto parsed = spec();
  if (!parsed) {
    co_return std::unexpected(parsed.error());
  }
  const auto wanted = policy::wanted_forwards(*parsed);
  if (wanted.empty()) {
    co_return std::vector<policy::PortForward>{};
  }
  // Another VM may take a port while the probe runs on the pool: then choose again.
  for (int attempt = 1;; ++attempt) {
    auto job = [name = name_, wanted, range = ctx_.config.forward_ports,
                held = ctx_.forwarded_ports] {
      return allocate_host_ports(name, wanted, range, held);
    };
    auto chosen = co_await run_blocking(ctx_.blocking, std::move(job));
    if (!chosen) {
      co_return std::unexpected(op_error(OpError::Code::conflict, chosen.error()));
    }
    const bool clash = std::ranges::any_of(*chosen, [this](const policy::PortForward& f) {
      return ctx_.forwarded_ports.contains({f.protocol, f.host_port});
    });
    if (!clash) {
      co_return std::move(*chosen);
    }
    if (attempt == kAllocateAttempts) {
      co_return std::unexpected(op_error(
          OpError::Code::conflict,
          fmt::format("VM {}: other VMs took the host ports chosen for interfaces[].ports "
                      "{} times while it started; start it again",
                      name_, kAllocateAttempts)));
    }
  }
}

void Vm::hold_forwards(Run& run, std::vector<policy::PortForward> forwards) {
  for (const auto& f : forwards) {
    ctx_.forwarded_ports[{f.protocol, f.host_port}] = holder_name(name_, f);
  }
  run.network.forwards = std::move(forwards);
  record_.forwards = run.network.forwards;
}

void Vm::release_forwards(Run& run) {
  for (const auto& f : run.network.forwards) {
    const auto held = ctx_.forwarded_ports.find({f.protocol, f.host_port});
    if (held != ctx_.forwarded_ports.end() && held->second == holder_name(name_, f)) {
      ctx_.forwarded_ports.erase(held);
    }
  }
  run.network.forwards.clear();
  record_.forwards.clear();
}

// passt runs as the QEMU user (when qmd is root) without qmd's seccomp profile: it makes
// its own sandbox (user, mount, IPC, UTS namespaces, pivot_root, a seccomp allow-list),
// which that profile would refuse.
asio::awaitable<std::optional<std::string>> Vm::start_passt(cmdline::SidecarCommand sidecar) {
  const std::string log = fmt::format("{}/{}.log", paths().run_dir, sidecar.name);
  LaunchSpec spec;
  spec.argv = sidecar.argv;
  spec.log_path = log;
  spec.drop_to = qemu_owner();
  spec.seccomp = !sidecar.own_sandbox;
  auto launched = launch(spec);
  if (!launched) {
    co_return fmt::format("{}: {}", sidecar.name, launched.error());
  }
  auto& passt =
      run_->network.passt.emplace_back(ctx_.executor, launched->pid, launched->pidfd, true);
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (!is_socket(sidecar.ready_socket)) {
    const bool gone = co_await passt.wait_exit_for(20ms);
    if (gone) {
      co_return fmt::format("{} {} before listening on {}; its output:\n{}", sidecar.name,
                            passt.describe(), sidecar.ready_socket,
                            file_tail(log, kTailLines));
    }
    if (std::chrono::steady_clock::now() > until) {
      co_return fmt::format("{}: socket {} did not appear within 10 s; its output:\n{}",
                            sidecar.name, sidecar.ready_socket, file_tail(log, kTailLines));
    }
  }
  co_return std::nullopt;
}

// A restarted qmd finds each passt by its pid file in the run dir (its command line names
// that dir, its exe is the passt binary, it runs as this VM's QEMU uid), and the host ports the
// run holds in the record.
void Vm::adopt_passt(Run& run) {
  const std::string dir = paths().run_dir;
  const auto owner = qemu_owner();
  const uid_t uid = owner ? owner->uid : ::geteuid();
  std::string binary = "/usr/bin/passt";  // cmdline::DeviceFacts::passt
  if (auto rendered = render()) {
    for (const auto& sidecar : rendered->sidecars) {
      if (sidecar.name.starts_with("passt-") && !sidecar.argv.empty()) {
        binary = sidecar.argv.front();
      }
    }
  }
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string file = entry.path().filename().string();
    if (!file.starts_with("passt-") || !file.ends_with(".pid")) {
      continue;
    }
    // passt (the QEMU user) writes it: no link, no FIFO, a few bytes.
    const auto text = read_file_nofollow(entry.path().string(), 32);
    pid_t pid = 0;
    try {
      pid = text ? static_cast<pid_t>(std::stol(*text)) : 0;
    } catch (const std::exception&) {
      continue;
    }
    const std::string args = read_proc_file(fmt::format("/proc/{}/cmdline", pid));
    if (pid <= 1 || args.find(dir + "/passt-") == std::string::npos) {
      continue;
    }
    if (!runs_as(pid, binary, uid)) {
      publish("Adoption", fmt::format("pid {} of {} is not {} running as uid {}; not adopted",
                                      pid, file, binary, uid));
      continue;
    }
    if (auto handle = ProcessHandle::open(ctx_.executor, pid)) {
      run.network.passt.push_back(std::move(*handle));
    }
  }
  hold_forwards(run, record_.forwards);
}

// passt --one-off ends once QEMU has gone; give it a moment, then insist.
asio::awaitable<void> Vm::stop_passt(Run& run) {
  for (auto& passt : run.network.passt) {
    if (passt.exited()) {
      continue;
    }
    const bool ended = co_await passt.wait_exit_for(1s);
    if (!ended) {
      passt.signal(SIGTERM);
      const bool terminated = co_await passt.wait_exit_for(2s);
      if (!terminated) {
        passt.signal(SIGKILL);
        co_await passt.wait_exit_for(5s);
      }
    }
  }
  run.network.passt.clear();
}

}  // namespace qmd::daemon
