// The launcher for real: seccomp profile enforced on a probe, session/no_new_privs/seccomp
// visible in /proc, privilege drop, fd hygiene, errors from the child, and QEMU starting
// under the outer filter stacked with its own -sandbox.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "daemon/launch/launcher.hpp"
#include "daemon/launch/seccomp_filter.hpp"
#include "base/unique_fd.hpp"
#include "policy/seccomp_profile.hpp"
#include "tests/integration/support.hpp"

using qmd::daemon::launch;
using qmd::daemon::Launched;
using qmd::daemon::LaunchSpec;
using qmd::daemon::lookup_user;
using qmd::UniqueFd;
using qmd::itest::read_text;
using qmd::itest::TempDir;

namespace {

std::string probe_path() {
  const char* path = std::getenv("QMD_SECCOMP_PROBE");
  REQUIRE_MESSAGE(path != nullptr, "QMD_SECCOMP_PROBE is not set (run through meson test)");
  return path;
}

// A launched child that is killed and reaped when the test is done with it.
class Child {
 public:
  explicit Child(Launched launched) : pid_(launched.pid), pidfd_(launched.pidfd) {}
  ~Child() {
    if (!reaped_) {
      ::kill(pid_, SIGKILL);
      wait_exit(-1);
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  pid_t pid() const { return pid_; }

  // True when the child exited within timeout_ms (-1: wait for ever); reaps it.
  bool wait_exit(int timeout_ms, int* status = nullptr) {
    pollfd pfd{pidfd_.get(), POLLIN, 0};
    if (::poll(&pfd, 1, timeout_ms) != 1) {
      return false;
    }
    int st = 0;
    ::waitpid(pid_, &st, 0);
    reaped_ = true;
    if (status != nullptr) {
      *status = st;
    }
    return true;
  }

 private:
  pid_t pid_;
  UniqueFd pidfd_;
  bool reaped_ = false;
};

// Runs the spec to completion (30 s at most) and returns the log.
std::string run_to_end(const LaunchSpec& spec) {
  auto launched = launch(spec);
  REQUIRE_MESSAGE(launched.has_value(), (launched ? "" : launched.error()));
  Child child(*launched);
  int status = 0;
  REQUIRE(child.wait_exit(30000, &status));
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  return read_text(spec.log_path);
}

// "name errno" lines of the probe.
std::map<std::string, int> probe_syscalls(const TempDir& dir, bool seccomp) {
  LaunchSpec spec;
  spec.argv = {probe_path(), "syscalls"};
  spec.log_path = dir.path() + (seccomp ? "/probe-on.log" : "/probe-off.log");
  spec.seccomp = seccomp;
  std::map<std::string, int> answers;
  std::istringstream lines(run_to_end(spec));
  std::string name, value;
  while (lines >> name >> value) {
    answers[name] = value == "skipped" ? -1 : std::atoi(value.c_str());
  }
  return answers;
}

std::string status_line(pid_t pid, const std::string& key) {
  std::istringstream status(read_text("/proc/" + std::to_string(pid) + "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with(key + ":")) {
      return line;
    }
  }
  return "";
}

LaunchSpec sleeper(const TempDir& dir, bool seccomp) {
  LaunchSpec spec;
  spec.argv = {"sleep", "5"};  // PATH lookup
  spec.log_path = dir.path() + "/sleep.log";
  spec.seccomp = seccomp;
  return spec;
}

// Connects to QEMU's QMP socket and returns its greeting (empty on failure).
std::string qmp_greeting(const std::string& path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    return "";
  }
  pollfd pfd{fd.get(), POLLIN, 0};
  if (::poll(&pfd, 1, 10000) != 1) {
    return "";
  }
  char buf[4096];
  const ssize_t n = ::read(fd.get(), buf, sizeof buf);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "";
}

}  // namespace

TEST_CASE("the seccomp profile is well-formed data that compiles") {
  std::set<std::string> names;
  for (const auto& rule : qmd::policy::seccomp_profile()) {
    CHECK_MESSAGE(names.insert(std::string(rule.syscall)).second, rule.syscall);
    CHECK_MESSAGE(!rule.why.empty(), rule.syscall);
    CHECK_MESSAGE(rule.when.empty() == rule.when_text.empty(), rule.syscall);
  }
  for (const auto& kept : qmd::policy::seccomp_kept_allowed()) {
    CHECK_MESSAGE(names.count(std::string(kept.syscall)) == 0, kept.syscall);
  }
  const auto& program = qmd::daemon::qmd_seccomp_program();
  REQUIRE_MESSAGE(program.has_value(), (program ? "" : program.error()));
  CHECK(program->size() > names.size());
  const std::string text = qmd::policy::describe_seccomp_profile();
  for (const auto& name : names) {
    const bool listed =
        text.starts_with(name + " ") || text.find("\n" + name + " ") != std::string::npos;
    CHECK_MESSAGE(listed, name);
  }
  // A name libseccomp does not know is an error naming it, not a silently smaller filter.
  std::vector<qmd::policy::SeccompRule> bad = {{"no_such_syscall", "test", {}, {}, {}}};
  auto compiled = qmd::daemon::compile_seccomp(bad);
  REQUIRE_FALSE(compiled.has_value());
  CHECK(compiled.error().find("no_such_syscall") != std::string::npos);
}

TEST_CASE("under the filter every denied syscall is refused and the rest still works") {
  TempDir dir("launch");
  const auto on = probe_syscalls(dir, true);
  const auto off = probe_syscalls(dir, false);
  for (const auto& rule : qmd::policy::seccomp_profile()) {
    const std::string name(rule.syscall);
    INFO("syscall ", name);
    REQUIRE(on.count(name) == 1);  // the probe covers the whole profile
    if (on.at(name) == -1) {
      continue;  // vhangup skipped: the probe has a terminal (never under launch())
    }
    const int expected = rule.answer == qmd::policy::SeccompErrno::Eperm ? EPERM : ENOSYS;
    CHECK(on.at(name) == expected);
  }
  CHECK(on.at("personality:PER_LINUX") == 0);
  CHECK(on.at("personality:query") == 0);
  CHECK(on.at("unshare:none") == 0);
  CHECK(on.at("clone:fork") == 0);
  CHECK(on.at("pthread_create") == 0);  // glibc falls back from clone3 to clone
  if (off.at("i386:getpid") == 0) {
    CHECK(on.at("i386:getpid") == ENOSYS);  // the i386 ABI is refused as a whole
  } else {
    CHECK(on.at("i386:getpid") != 0);
  }
}

TEST_CASE("without the filter the probe gets the kernel's own answers") {
  TempDir dir("launch");
  const auto off = probe_syscalls(dir, false);
  // True for any caller, root or not.
  CHECK(off.at("ptrace") == ESRCH);
  CHECK(off.at("setns") == EBADF);
  CHECK(off.at("clock_settime") == EINVAL);
  CHECK(off.at("process_vm_readv") == 0);
  CHECK(off.at("process_vm_writev") == 0);
  CHECK(off.at("adjtimex") == 0);
  CHECK(off.at("clock_adjtime") == 0);
  CHECK(off.at("personality") == 0);
  CHECK(off.at("clone3") != ENOSYS);
  CHECK(off.at("iopl") != EPERM);
  CHECK(off.at("ioperm") != EPERM);
  CHECK(off.at("nfsservctl") == ENOSYS);
  CHECK(off.at("pthread_create") == 0);
  if (::geteuid() == 0) {
    for (const char* name : {"mount", "umount2", "pivot_root", "swapon", "swapoff", "acct",
                             "reboot", "sethostname", "setdomainname", "delete_module",
                             "open_by_handle_at", "fsopen", "unshare", "clone", "settimeofday"}) {
      INFO("syscall ", name);
      CHECK(off.at(name) != EPERM);
    }
  }
}

TEST_CASE("the child has its own session, no_new_privs and seccomp mode 2") {
  TempDir dir("launch");
  auto launched = launch(sleeper(dir, true));
  REQUIRE_MESSAGE(launched.has_value(), (launched ? "" : launched.error()));
  Child child(*launched);
  CHECK(status_line(child.pid(), "Seccomp") == "Seccomp:\t2");
  CHECK(status_line(child.pid(), "NoNewPrivs") == "NoNewPrivs:\t1");
  CHECK(::getsid(child.pid()) == child.pid());
  CHECK(::getpgid(child.pid()) == child.pid());

  auto plain = launch(sleeper(dir, false));
  REQUIRE_MESSAGE(plain.has_value(), (plain ? "" : plain.error()));
  Child unfiltered(*plain);
  CHECK(status_line(unfiltered.pid(), "Seccomp") == "Seccomp:\t0");
  CHECK(status_line(unfiltered.pid(), "NoNewPrivs") == "NoNewPrivs:\t1");
}

TEST_CASE("as root the child drops to another user for good") {
  if (::geteuid() != 0) {
    MESSAGE("not root: privilege drop not tested");
    return;
  }
  auto nobody = lookup_user("nobody");
  REQUIRE_MESSAGE(nobody.has_value(), (nobody ? "" : nobody.error()));
  TempDir dir("launch");
  LaunchSpec spec = sleeper(dir, true);
  spec.drop_to = *nobody;
  auto launched = launch(spec);
  REQUIRE_MESSAGE(launched.has_value(), (launched ? "" : launched.error()));
  Child child(*launched);
  const std::string uid = std::to_string(nobody->uid);
  const std::string gid = std::to_string(nobody->gid);
  CHECK(status_line(child.pid(), "Uid") == "Uid:\t" + uid + "\t" + uid + "\t" + uid + "\t" + uid);
  CHECK(status_line(child.pid(), "Gid") == "Gid:\t" + gid + "\t" + gid + "\t" + gid + "\t" + gid);
  CHECK(status_line(child.pid(), "Groups").find("\t0") == std::string::npos);
  CHECK(status_line(child.pid(), "CapEff") == "CapEff:\t0000000000000000");
}

TEST_CASE("lookup_user names the user it cannot find") {
  auto missing = lookup_user("qmd-no-such-user");
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error() == "user qmd-no-such-user: no such user");
  auto root = lookup_user("root");
  REQUIRE(root.has_value());
  CHECK(root->uid == 0);
  CHECK(root->gid == 0);
}

TEST_CASE("failures in the child come back as errors naming the step, and leave no child") {
  TempDir dir("launch");
  LaunchSpec spec;
  spec.log_path = dir.path() + "/fail.log";

  spec.argv = {"/nonexistent/qmd-missing"};
  auto missing = launch(spec);
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error() == "execve /nonexistent/qmd-missing: No such file or directory");
  CHECK(qmd::itest::children_of_self().empty());

  spec.argv = {"qmd-no-such-binary-in-path"};
  auto not_in_path = launch(spec);
  REQUIRE_FALSE(not_in_path.has_value());
  CHECK(not_in_path.error() == "execve qmd-no-such-binary-in-path: No such file or directory");

  spec.argv = {"sleep", "5"};
  spec.cwd = "/nonexistent-qmd-dir";
  auto bad_cwd = launch(spec);
  REQUIRE_FALSE(bad_cwd.has_value());
  CHECK(bad_cwd.error() == "chdir /nonexistent-qmd-dir: No such file or directory");
  CHECK(qmd::itest::children_of_self().empty());

  spec.cwd = "";
  spec.log_path = "/nonexistent-qmd-dir/qemu.log";
  auto bad_log = launch(spec);
  REQUIRE_FALSE(bad_log.has_value());
  CHECK(bad_log.error() == "open log /nonexistent-qmd-dir/qemu.log: No such file or directory");

  spec.log_path = dir.path() + "/fail.log";
  spec.keep_fds = {987};
  auto bad_fd = launch(spec);
  REQUIRE_FALSE(bad_fd.has_value());
  CHECK(bad_fd.error() == "keep_fd 987: Bad file descriptor");
  CHECK(qmd::itest::children_of_self().empty());
}

TEST_CASE("only stdio and the kept fds reach the child") {
  TempDir dir("launch");
  int kept_pipe[2];
  int other_pipe[2];
  REQUIRE(::pipe2(kept_pipe, O_CLOEXEC) == 0);
  REQUIRE(::pipe(other_pipe) == 0);  // not CLOEXEC: the launcher must close it anyway
  UniqueFd kept_read(kept_pipe[0]), kept_write(kept_pipe[1]);
  UniqueFd other_read(other_pipe[0]), other_write(other_pipe[1]);

  LaunchSpec spec;
  spec.argv = {probe_path(), "fds"};
  spec.log_path = dir.path() + "/fds.log";
  spec.keep_fds = {kept_write.get()};
  std::istringstream lines(run_to_end(spec));
  std::set<int> fds;
  int fd = 0;
  while (lines >> fd) {
    fds.insert(fd);
  }
  CHECK(fds == std::set<int>{0, 1, 2, kept_write.get()});
  // Still CLOEXEC in qmd itself.
  CHECK((::fcntl(kept_write.get(), F_GETFD) & FD_CLOEXEC) != 0);
}

TEST_CASE("stdout and stderr are appended to a 0640 log; env and cwd are applied") {
  TempDir dir("launch");
  ::setenv("QMD_LAUNCH_TEST", "from-qmd", 1);
  ::setenv("QMD_LAUNCH_KEPT", "kept", 1);
  LaunchSpec spec;
  spec.argv = {"/bin/sh", "-c",
               "echo out; echo err >&2; echo $QMD_LAUNCH_TEST $QMD_LAUNCH_KEPT; pwd"};
  spec.env = {"QMD_LAUNCH_TEST=replaced"};
  spec.log_path = dir.path() + "/sh.log";
  spec.cwd = dir.path();
  const mode_t old_umask = ::umask(077);
  run_to_end(spec);
  ::umask(old_umask);
  const std::string once = "out\nerr\nreplaced kept\n" + dir.path() + "\n";
  CHECK(read_text(spec.log_path) == once);
  CHECK(run_to_end(spec) == once + once);
  struct stat st {};
  REQUIRE(::stat(spec.log_path.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0640);

  LaunchSpec root_cwd;  // a relative argv[0] is relative to qmd's directory, not the child's
  root_cwd.argv = {std::filesystem::relative(probe_path()).string(), "cwd"};
  REQUIRE_FALSE(root_cwd.argv[0].starts_with("/"));
  root_cwd.log_path = dir.path() + "/cwd.log";
  CHECK(run_to_end(root_cwd) == "/\n");
}

TEST_CASE("output_fd takes the output; parent_death_signal ends the child with its parent") {
  TempDir dir("launch");
  LaunchSpec spec;
  spec.argv = {"/bin/sh", "-c", "echo to-the-fd; echo err >&2"};
  const std::string path = dir.path() + "/out";
  UniqueFd out(::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
  REQUIRE(out);
  spec.output_fd = out.get();
  auto launched = launch(spec);
  REQUIRE_MESSAGE(launched.has_value(), (launched ? "" : launched.error()));
  Child child(*launched);
  REQUIRE(child.wait_exit(30000));
  CHECK(read_text(path) == "to-the-fd\nerr\n");

  // A process that launches a tied sleeper and exits: the kernel sends the sleeper SIGTERM,
  // also when the sleeper dropped to another user (which clears the signal once).
  for (const bool drop : {false, true}) {
    if (drop && ::geteuid() != 0) {
      continue;
    }
    CAPTURE(drop);
    int pipe_fds[2];
    REQUIRE(::pipe(pipe_fds) == 0);
    UniqueFd read_end(pipe_fds[0]);
    const pid_t middle = ::fork();
    REQUIRE(middle >= 0);
    if (middle == 0) {
      LaunchSpec tied;
      tied.argv = {"sleep", "60"};
      tied.log_path = dir.path() + "/tied.log";
      tied.parent_death_signal = SIGTERM;
      pid_t pid = -1;  // -1 tells the test that the sleeper did not start as asked
      auto nobody = lookup_user("nobody");
      if (drop && nobody) {
        tied.drop_to = *nobody;
      }
      if (!drop || nobody) {
        auto started = launch(tied);
        pid = started ? started->pid : -1;
      }
      (void)::write(pipe_fds[1], &pid, sizeof pid);
      ::_exit(0);
    }
    ::close(pipe_fds[1]);
    pid_t sleeper = -1;
    REQUIRE(::read(read_end.get(), &sleeper, sizeof sleeper) == sizeof sleeper);
    ::waitpid(middle, nullptr, 0);
    REQUIRE(sleeper > 0);
    bool gone = false;
    for (int i = 0; i < 100 && !gone; ++i) {  // reaped by init, or a zombie until then
      const std::string state = status_line(sleeper, "State");
      gone = state.empty() || state.find("Z") != std::string::npos;
      if (!gone) {
        ::usleep(50000);
      }
    }
    CHECK_MESSAGE(gone, "the tied sleeper outlived the process that launched it");
    if (!gone) {
      ::kill(sleeper, SIGKILL);
    }
  }
}

TEST_CASE("QEMU starts under the outer filter stacked with its own -sandbox") {
  if (::access("/usr/bin/qemu-system-x86_64", X_OK) != 0) {
    MESSAGE("qemu-system-x86_64 not installed: skipped");
    return;
  }
  const bool root = ::geteuid() == 0;
  for (const bool drop : {false, true}) {
    if (drop && !root) {
      continue;
    }
    CAPTURE(drop);
    TempDir dir("lq");
    ::chmod(dir.path().c_str(), 0777);  // the dropped user creates the QMP socket here
    const std::string qmp = dir.path() + "/qmp.sock";
    LaunchSpec spec;
    spec.argv = {"/usr/bin/qemu-system-x86_64",
                 "-S",
                 "-accel",
                 "tcg",
                 "-nodefaults",
                 "-no-user-config",
                 "-display",
                 "none",
                 "-m",
                 "64",
                 "-qmp",
                 "unix:" + qmp + ",server=on,wait=off",
                 "-sandbox",
                 "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny"};
    spec.log_path = dir.path() + "/qemu.log";
    if (drop) {
      auto nobody = lookup_user("nobody");
      REQUIRE(nobody.has_value());
      spec.drop_to = *nobody;
    }
    auto launched = launch(spec);
    REQUIRE_MESSAGE(launched.has_value(), (launched ? "" : launched.error()));
    Child child(*launched);
    int status = 0;
    const bool exited = child.wait_exit(2000, &status);
    CHECK_MESSAGE(!exited, "QEMU exited (status ", status, "): ", read_text(spec.log_path));
    if (!exited) {
      CHECK(status_line(child.pid(), "Seccomp") == "Seccomp:\t2");
      CHECK(qmp_greeting(qmp).find("\"QMP\"") != std::string::npos);
    }
  }
  CHECK(qmd::itest::children_of_self().empty());
}
