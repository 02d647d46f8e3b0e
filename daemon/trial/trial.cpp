#include "daemon/trial/trial.hpp"

#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>
#include <vector>

#include "daemon/launch/child_process.hpp"
#include "daemon/launch/file_tail.hpp"
#include "daemon/storage/vm_files.hpp"
#include "daemon/trial/qmp_status.hpp"

namespace qmd::trial {
namespace {

namespace fs = std::filesystem;
using daemon::ChildProcess;
using daemon::describe_status;
using daemon::file_tail;
using daemon::run_to_completion;
using daemon::storage::prepare_files;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kTailLines = 20;

milliseconds left(Clock::time_point deadline, milliseconds cap) {
  const auto rest = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
  return std::clamp(rest, milliseconds{0}, cap);
}

constexpr milliseconds kNoCap{std::chrono::hours{1}};

// A step failure: which step, and what went wrong.
struct Failure {
  std::string step;
  std::string message;
};

// The control socket a long-running sidecar listens on: `--ctrl type=unixio,path=X`.
std::string ctrl_socket_of(const cmdline::SidecarCommand& sidecar, const cmdline::VmPaths& paths) {
  if (!sidecar.ready_socket.empty()) {
    return sidecar.ready_socket;  // passt
  }
  for (std::size_t i = 0; i + 1 < sidecar.argv.size(); ++i) {
    if (sidecar.argv[i] != "--ctrl") {
      continue;
    }
    const std::string& value = sidecar.argv[i + 1];
    const auto at = value.find("path=");
    if (at != std::string::npos) {
      return value.substr(at + 5, value.find(',', at) - (at + 5));
    }
  }
  return sidecar.name == "swtpm" ? paths.swtpm_ctrl_socket() : std::string();
}

bool is_socket(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

// Every socket in the run directory, plus the swtpm pid file: nothing may be left behind.
void remove_sockets(const cmdline::VmPaths& paths) {
  std::error_code ec;
  for (fs::directory_iterator it(paths.run_dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_socket(ec)) {
      fs::remove(it->path(), ec);
    }
  }
  fs::remove(paths.swtpm_pid(), ec);
}

struct Sidecar {
  std::string name;
  std::string log;
  ChildProcess child;
};

class Trial {
 public:
  Trial(const cmdline::RenderResult& result, const cmdline::VmPaths& paths,
        std::chrono::seconds timeout, const StepReporter& report)
      : result_(result),
        paths_(paths),
        deadline_(Clock::now() + timeout),
        report_(report ? report : [](const std::string&) {}),
        qemu_log_(paths.run_dir + "/qemu.log") {}

  ~Trial() {
    // QEMU first, then its sidecars (declaration order would do the opposite).
    qemu_.reset();
    sidecars_.clear();
    remove_sockets(paths_);
  }
  Trial(const Trial&) = delete;
  Trial& operator=(const Trial&) = delete;

  TrialResult run() {
    TrialResult out;
    std::optional<Failure> failure = steps(out);
    if (qemu_ && qemu_->running()) {
      qemu_->kill_now();
    }
    for (auto& sidecar : sidecars_) {
      stop_sidecar(sidecar, failure ? milliseconds{0} : milliseconds{3000});
    }
    remove_sockets(paths_);
    out.qemu_log = read_file(qemu_log_);
    if (failure) {
      out.ok = false;
      out.error = fmt::format("{}: {}", failure->step, failure->message);
      if (qemu_started_) {
        out.error += fmt::format("\n--- QEMU output (last {} lines) ---\n{}", kTailLines,
                                 file_tail(qemu_log_, kTailLines));
      }
      report_(fmt::format("failed: {}", out.error));
    } else {
      out.ok = true;
      report_("cleanup: no process and no socket left");
    }
    return out;
  }

 private:
  std::optional<Failure> steps(TrialResult& out) {
    std::error_code ec;
    if (!fs::is_directory(paths_.run_dir, ec)) {
      return Failure{"prepare", fmt::format("run directory {} does not exist", paths_.run_dir)};
    }
    remove_sockets(paths_);  // stale ones from a crashed run would confuse the waits below
    if (auto failed = prepare_files(result_, paths_.run_dir + "/qemu-img.log",
                                    left(deadline_, kNoCap), report_)) {
      return Failure{"prepare", *failed};
    }
    for (const auto& sidecar : result_.sidecars) {
      if (auto failed = start_sidecar(sidecar)) {
        return failed;
      }
    }
    if (auto failed = start_qemu()) {
      return failed;
    }
    return check_and_quit(out);
  }

  std::optional<Failure> start_sidecar(const cmdline::SidecarCommand& sidecar) {
    const std::string step = "sidecar " + sidecar.name;
    const std::string log = fmt::format("{}/{}.log", paths_.run_dir, sidecar.name);
    std::error_code ec;
    if (sidecar.run_once) {
      if (!sidecar.skip_if_exists.empty() && fs::exists(sidecar.skip_if_exists, ec)) {
        report_(fmt::format("{}: skipped, {} exists", step, sidecar.skip_if_exists));
        return std::nullopt;
      }
      if (auto done = run_to_completion(sidecar.argv, log, left(deadline_, kNoCap)); !done) {
        return Failure{step, done.error()};
      }
      report_(fmt::format("{}: ran to completion", step));
      return std::nullopt;
    }
    auto child = ChildProcess::spawn(sidecar.argv, log);
    if (!child) {
      return Failure{step, child.error()};
    }
    sidecars_.push_back(Sidecar{sidecar.name, log, std::move(*child)});
    auto& started = sidecars_.back();
    const std::string ctrl = ctrl_socket_of(sidecar, paths_);
    if (ctrl.empty()) {
      report_(fmt::format("{}: started (pid {})", step, started.child.pid()));
      return std::nullopt;
    }
    const auto wait_until = Clock::now() + left(deadline_, milliseconds{10000});
    while (!is_socket(ctrl)) {
      if (started.child.wait_for(milliseconds{0})) {
        return Failure{step, fmt::format("{} before creating {}; log:\n{}",
                                         describe_status(*started.child.status()), ctrl,
                                         file_tail(log, kTailLines))};
      }
      if (Clock::now() >= wait_until) {
        return Failure{step, fmt::format("control socket {} did not appear; log:\n{}", ctrl,
                                         file_tail(log, kTailLines))};
      }
      std::this_thread::sleep_for(milliseconds{10});
    }
    report_(fmt::format("{}: started (pid {}), listening on {}", step, started.child.pid(), ctrl));
    return std::nullopt;
  }

  std::optional<Failure> start_qemu() {
    std::error_code ec;
    fs::remove(qemu_log_, ec);
    std::vector<std::string> argv{result_.binary};
    const auto args = result_.argv.args();
    argv.insert(argv.end(), args.begin(), args.end());
    auto child = ChildProcess::spawn(argv, qemu_log_, result_.env);
    if (!child) {
      return Failure{"qemu start", child.error()};
    }
    qemu_.emplace(std::move(*child));
    qemu_started_ = true;
    report_(fmt::format("qemu start: {} with {} options (pid {})", result_.binary,
                        result_.argv.options().size(), qemu_->pid()));
    return std::nullopt;
  }

  std::optional<Failure> check_and_quit(TrialResult& out) {
    auto alive = [this] { return !qemu_->wait_for(milliseconds{0}); };
    auto status = query_status_and_quit(paths_.qmp_socket(), left(deadline_, kNoCap), alive);
    if (!status) {
      // QEMU closes the monitor when it rejects a later option: let it finish dying so the
      // error can say how it ended.
      qemu_->wait_for(left(deadline_, milliseconds{2000}));
      if (!qemu_->running()) {
        return Failure{"qmp", fmt::format("QEMU {} before answering ({})",
                                          describe_status(*qemu_->status()), status.error())};
      }
      return Failure{"qmp", status.error()};
    }
    out.status = status->status;
    out.qemu_version = status->qemu_version;
    report_(fmt::format("qmp: QEMU {} answered query-status: {}", out.qemu_version, out.status));
    if (!qemu_->wait_for(left(deadline_, milliseconds{10000}))) {
      return Failure{"quit", "QEMU did not exit after quit"};
    }
    const int wait_status = *qemu_->status();
    if (!WIFEXITED(wait_status) || WEXITSTATUS(wait_status) != 0) {
      return Failure{"quit", fmt::format("QEMU {} after quit", describe_status(wait_status))};
    }
    report_("quit: QEMU exited with status 0");
    if (out.status != "prelaunch") {
      return Failure{"qmp", fmt::format("query-status said \"{}\", expected \"prelaunch\" "
                                        "(is -S missing from the argv?)",
                                        out.status)};
    }
    return std::nullopt;
  }

  void stop_sidecar(Sidecar& sidecar, milliseconds own_exit) {
    if (!sidecar.child.running()) {
      return;
    }
    // swtpm ends by itself once QEMU has sent it CMD_SHUTDOWN; give it a moment first.
    if (sidecar.child.wait_for(own_exit)) {
      report_(fmt::format("sidecar {}: exited by itself", sidecar.name));
      return;
    }
    sidecar.child.stop(milliseconds{2000});
    report_(fmt::format("sidecar {}: stopped", sidecar.name));
  }

  static std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  }

  const cmdline::RenderResult& result_;
  const cmdline::VmPaths& paths_;
  Clock::time_point deadline_;
  StepReporter report_;
  std::string qemu_log_;
  std::vector<Sidecar> sidecars_;
  std::optional<ChildProcess> qemu_;
  bool qemu_started_ = false;
};

}  // namespace

TrialResult trial_start(const cmdline::RenderResult& result, const cmdline::VmPaths& paths,
                        std::chrono::seconds timeout, const StepReporter& report) {
  Trial trial(result, paths, timeout, report);
  return trial.run();
}

}  // namespace qmd::trial
