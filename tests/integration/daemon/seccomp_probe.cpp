// Launched by test_launcher through qmd's launcher. Modes:
//   syscalls  for each syscall of the seccomp profile, one call with harmless arguments (they
//             fail or do nothing even as root without the filter), printed as "name errno"
//             (0: it succeeded); "name:variant" lines are calls the profile must allow.
//   fds       the open file descriptors, one per line
//   cwd       the working directory
// Stdout is the launcher's log file.
#include <dirent.h>
#include <fcntl.h>
#include <linux/keyctl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/timex.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace {

constexpr const char* kMissing = "/nonexistent-qmd-probe";

void report(const char* name, long rc) {
  std::printf("%s %d\n", name, rc < 0 ? errno : 0);
  std::fflush(stdout);
}

// Runs `call` in a forked child (for calls that change the caller, such as entering a new user
// namespace) and reports the errno it saw.
void report_in_child(const char* name, const std::function<long()>& call) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    const long rc = call();
    ::_exit(rc < 0 ? errno : 0);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  std::printf("%s %d\n", name, WIFEXITED(status) ? WEXITSTATUS(status) : 1000 + WTERMSIG(status));
  std::fflush(stdout);
}

// clone(flags) used like fork: the child exits at once; errno of the parent's call.
long clone_and_wait(unsigned long flags) {
  const long pid = ::syscall(SYS_clone, flags | SIGCHLD, 0, nullptr, nullptr, 0);
  if (pid == 0) {
    ::_exit(0);
  }
  if (pid > 0) {
    ::waitpid(static_cast<pid_t>(pid), nullptr, 0);
  }
  return pid;
}

// getpid through the i386 ABI (int 0x80, syscall 20): a 32-bit call must not slip past a
// filter written for x86_64 syscall numbers.
long i386_getpid() {
  long ret = 20;
  __asm__ volatile("int $0x80" : "+a"(ret) : : "memory");
  if (ret < 0 && ret > -4096) {
    errno = static_cast<int>(-ret);
    return -1;
  }
  return ret;
}

void probe_syscalls() {
  char empty[] = "";
  report("init_module", ::syscall(SYS_init_module, nullptr, 0, empty));
  report("finit_module", ::syscall(SYS_finit_module, -1, empty, 0));
  report("delete_module", ::syscall(SYS_delete_module, "qmd_no_such_module", O_NONBLOCK));
  // More segments than KEXEC_SEGMENT_MAX: EINVAL for root, never a load or an unload.
  report("kexec_load", ::syscall(SYS_kexec_load, 0, 1000, nullptr, 0));
  report("kexec_file_load", ::syscall(SYS_kexec_file_load, -1, -1, 0, empty, 0xffff0000UL));
  report("reboot", ::syscall(SYS_reboot, 0, 0, 0, nullptr));  // wrong magic: EINVAL
  report("mount", ::syscall(SYS_mount, "none", kMissing, "tmpfs", 0, nullptr));
  report("umount2", ::syscall(SYS_umount2, kMissing, 0));
  report("pivot_root", ::syscall(SYS_pivot_root, kMissing, kMissing));
  report("fsopen", ::syscall(SYS_fsopen, "qmd_no_such_fs", 0));
  report("fsconfig", ::syscall(SYS_fsconfig, -1, 0, nullptr, nullptr, 0));
  report("fsmount", ::syscall(SYS_fsmount, -1, 0, 0));
  report("fspick", ::syscall(SYS_fspick, -1, kMissing, 0));
  report("move_mount", ::syscall(SYS_move_mount, -1, kMissing, -1, kMissing, 0));
  report("open_tree", ::syscall(SYS_open_tree, -1, kMissing, 0));
  report("swapon", ::syscall(SYS_swapon, kMissing, 0));
  report("swapoff", ::syscall(SYS_swapoff, kMissing));
  report("acct", ::syscall(SYS_acct, kMissing));
  report("quotactl", ::syscall(SYS_quotactl, 0x800007 /* Q_GETINFO */, kMissing, 0, nullptr));
  report("quotactl_fd", ::syscall(SYS_quotactl_fd, -1, 0x800007, 0, nullptr));
  report("nfsservctl", ::syscall(SYS_nfsservctl, 0, nullptr, nullptr));
  report("uselib", ::syscall(SYS_uselib, kMissing));
  report("ptrace", ::syscall(SYS_ptrace, PTRACE_CONT, ::getpid(), nullptr, nullptr));  // ESRCH
  report("process_vm_readv",
         ::syscall(SYS_process_vm_readv, ::getpid(), nullptr, 0, nullptr, 0, 0));
  report("process_vm_writev",
         ::syscall(SYS_process_vm_writev, ::getpid(), nullptr, 0, nullptr, 0, 0));
  report("bpf", ::syscall(SYS_bpf, -1, nullptr, 0));
  report("perf_event_open", ::syscall(SYS_perf_event_open, nullptr, 0, -1, -1, 0));
  report("lookup_dcookie", ::syscall(SYS_lookup_dcookie, 0, nullptr, 0));
  report("syslog", ::syscall(SYS_syslog, 10 /* SIZE_BUFFER: read-only */, nullptr, 0));
  report("keyctl", ::syscall(SYS_keyctl, 0xdead, 0, 0, 0, 0));
  report("add_key", ::syscall(SYS_add_key, "qmd_no_such_type", "qmd", nullptr, 0, 0));
  report("request_key", ::syscall(SYS_request_key, "qmd_no_such_type", "qmd", nullptr, 0));
  report("open_by_handle_at", ::syscall(SYS_open_by_handle_at, -1, nullptr, 0));
  // vhangup hangs up the controlling terminal: only without one (launched with setsid).
  const int tty = ::open("/dev/tty", O_RDONLY | O_CLOEXEC);
  if (tty >= 0) {
    ::close(tty);
    std::printf("vhangup skipped\n");
  } else {
    report("vhangup", ::syscall(SYS_vhangup));
  }
  report("iopl", ::syscall(SYS_iopl, 4));                  // level > 3: EINVAL
  report("ioperm", ::syscall(SYS_ioperm, 0x10000, 1, 1));  // past the bitmap: EINVAL
  report("setns", ::syscall(SYS_setns, -1, 0));
  report_in_child("unshare", [] { return ::syscall(SYS_unshare, CLONE_NEWUSER); });
  report_in_child("clone", [] { return clone_and_wait(CLONE_NEWUSER); });
  report("clone3", ::syscall(SYS_clone3, nullptr, 0));
  report("personality", ::syscall(SYS_personality, PER_BSD));
  ::syscall(SYS_personality, PER_LINUX);
  report("settimeofday", ::syscall(SYS_settimeofday, nullptr, nullptr));  // sets nothing
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  report("clock_settime", ::syscall(SYS_clock_settime, CLOCK_MONOTONIC, &now));  // EINVAL
  timex query{};  // modes 0: only reads
  report("adjtimex", ::syscall(SYS_adjtimex, &query));
  query = timex{};
  report("clock_adjtime", ::syscall(SYS_clock_adjtime, CLOCK_REALTIME, &query));
  report("sethostname", ::syscall(SYS_sethostname, nullptr, 100000));  // too long: EINVAL
  report("setdomainname", ::syscall(SYS_setdomainname, nullptr, 100000));

  // What the profile must leave working.
  report("personality:PER_LINUX", ::syscall(SYS_personality, PER_LINUX));
  report("personality:query", ::syscall(SYS_personality, 0xffffffffUL));
  report_in_child("unshare:none", [] { return ::syscall(SYS_unshare, 0); });
  report("clone:fork", clone_and_wait(0));
  pthread_t thread{};
  const int created = ::pthread_create(
      &thread, nullptr, [](void*) -> void* { return nullptr; }, nullptr);
  if (created == 0) {
    ::pthread_join(thread, nullptr);
  }
  std::printf("pthread_create %d\n", created);
  report_in_child("i386:getpid", [] { return i386_getpid(); });
}

void list_fds() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) {
    std::perror("opendir");
    return;
  }
  const int own = ::dirfd(dir);
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] != '.' && std::atoi(entry->d_name) != own) {
      std::printf("%s\n", entry->d_name);
    }
  }
  ::closedir(dir);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "syscalls";
  if (mode == "syscalls") {
    probe_syscalls();
  } else if (mode == "fds") {
    list_fds();
  } else if (mode == "cwd") {
    char buf[4096];
    std::printf("%s\n", ::getcwd(buf, sizeof buf) != nullptr ? buf : "?");
  } else {
    std::fprintf(stderr, "seccomp_probe: unknown mode %s\n", mode.c_str());
    return 2;
  }
  return 0;
}
