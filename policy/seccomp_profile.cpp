#include "policy/seccomp_profile.hpp"

#include <sched.h>

#include <algorithm>

namespace qmd::policy {
namespace {

constexpr std::uint64_t kPerLinux = 0;               // the only persona a VMM runs under
constexpr std::uint64_t kPersonaQuery = 0xffffffff;  // personality(0xffffffff) only reads it

SeccompRule deny(std::string_view name, std::string_view why) {
  return SeccompRule{name, why, SeccompErrno::Eperm, {}, {}};
}

SeccompRule deny_when_new_user_ns(std::string_view name, std::string_view why) {
  // A user namespace gives its creator every capability inside it, which opens kernel code
  // (mount, netfilter, bpf...) that is otherwise root-only: the classic escalation path.
  return SeccompRule{name,
                     why,
                     SeccompErrno::Eperm,
                     {{0, SeccompArgTest::Op::MaskedEqual, CLONE_NEWUSER, CLONE_NEWUSER}},
                     "flags has CLONE_NEWUSER"};
}

std::vector<SeccompRule> build_profile() {
  std::vector<SeccompRule> rules;
  // Kernel code and the running kernel itself.
  rules.push_back(deny("init_module", "loads kernel code"));
  rules.push_back(deny("finit_module", "loads kernel code"));
  rules.push_back(deny("delete_module", "unloads kernel code"));
  rules.push_back(deny("kexec_load", "replaces the running kernel"));
  rules.push_back(deny("kexec_file_load", "replaces the running kernel"));
  rules.push_back(deny("reboot", "reboots or halts the host"));
  // The filesystem tree: QEMU opens the paths qmd names, it never rearranges mounts.
  rules.push_back(deny("mount", "changes the mount tree"));
  rules.push_back(deny("umount2", "changes the mount tree"));
  rules.push_back(deny("pivot_root", "changes the root filesystem"));
  rules.push_back(deny("fsopen", "new mount API: changes the mount tree"));
  rules.push_back(deny("fsconfig", "new mount API: changes the mount tree"));
  rules.push_back(deny("fsmount", "new mount API: changes the mount tree"));
  rules.push_back(deny("fspick", "new mount API: reconfigures a mounted filesystem"));
  rules.push_back(deny("move_mount", "new mount API: changes the mount tree"));
  rules.push_back(deny("open_tree", "new mount API: clones a mount tree"));
  rules.push_back(deny("swapon", "changes host swap"));
  rules.push_back(deny("swapoff", "changes host swap"));
  rules.push_back(deny("acct", "switches host process accounting"));
  rules.push_back(deny("quotactl", "changes filesystem quotas"));
  rules.push_back(deny("quotactl_fd", "changes filesystem quotas"));
  rules.push_back(deny("nfsservctl", "NFS server control (removed from Linux, never needed)"));
  rules.push_back(deny("uselib", "loads a.out libraries (obsolete)"));
  // Other processes and the kernel's attack surface.
  rules.push_back(deny("ptrace", "inspects or controls other processes"));
  rules.push_back(deny("process_vm_readv", "reads another process's memory"));
  rules.push_back(deny("process_vm_writev", "writes another process's memory"));
  rules.push_back(deny("bpf", "loads eBPF programs into the kernel"));
  rules.push_back(deny("perf_event_open", "kernel profiling: large attack surface, leaks"));
  rules.push_back(deny("lookup_dcookie", "kernel profiling (oprofile)"));
  rules.push_back(deny("syslog", "reads or clears the kernel log"));
  rules.push_back(deny("keyctl", "kernel keyrings: shared across the host user"));
  rules.push_back(deny("add_key", "kernel keyrings: shared across the host user"));
  rules.push_back(deny("request_key", "kernel keyrings: may run a host helper"));
  rules.push_back(deny("open_by_handle_at", "opens files by handle, past directory permissions"));
  rules.push_back(deny("vhangup", "hangs up the terminal"));
  rules.push_back(deny("iopl", "raw host I/O port access"));
  rules.push_back(deny("ioperm", "raw host I/O port access"));
  // Namespaces: QEMU runs in the namespaces qmd gives it.
  rules.push_back(deny("setns", "joins another namespace"));
  rules.push_back(deny_when_new_user_ns("unshare", "a new user namespace"));
  rules.push_back(deny_when_new_user_ns("clone", "a new user namespace"));
  // clone3 passes its flags in a struct in memory, which a seccomp filter cannot read, so its
  // CLONE_NEWUSER cannot be told apart. ENOSYS (not EPERM) makes glibc's pthread_create,
  // posix_spawn and fork fall back to clone, whose flags the rule above inspects.
  rules.push_back(SeccompRule{"clone3",
                              "flags are out of the filter's reach; glibc falls back to clone",
                              SeccompErrno::Enosys,
                              {},
                              {}});
  // Execution domain: only the Linux persona and the query are allowed; other personas change
  // the address-space layout (ADDR_NO_RANDOMIZE, READ_IMPLIES_EXEC) and so weaken ASLR/NX.
  rules.push_back(SeccompRule{"personality",
                              "other personas disable ASLR or NX",
                              SeccompErrno::Eperm,
                              {{0, SeccompArgTest::Op::NotEqual, kPerLinux, 0},
                               {0, SeccompArgTest::Op::NotEqual, kPersonaQuery, 0}},
                              "persona not PER_LINUX (0) or the query 0xffffffff"});
  // Host identity and time: QEMU keeps guest time itself and never sets the host's.
  rules.push_back(deny("settimeofday", "sets host time"));
  rules.push_back(deny("clock_settime", "sets host time"));
  rules.push_back(deny("adjtimex", "adjusts host time"));
  rules.push_back(deny("clock_adjtime", "adjusts host time"));
  rules.push_back(deny("sethostname", "renames the host"));
  rules.push_back(deny("setdomainname", "renames the host"));
  return rules;
}

std::string_view errno_name(SeccompErrno answer) {
  return answer == SeccompErrno::Eperm ? "EPERM" : "ENOSYS";
}

}  // namespace

const std::vector<SeccompRule>& seccomp_profile() {
  static const std::vector<SeccompRule> rules = build_profile();
  return rules;
}

const std::vector<SeccompKeptAllowed>& seccomp_kept_allowed() {
  static const std::vector<SeccompKeptAllowed> kept = {
      // Postcopy live migration runs the guest on the target while its memory still arrives:
      // QEMU catches missing pages with userfaultfd. Denying it would break postcopy.
      {"userfaultfd", "QEMU postcopy live migration catches missing guest pages with it"},
  };
  return kept;
}

std::string describe_seccomp_profile() {
  std::size_t width = 0;
  for (const auto& rule : seccomp_profile()) {
    width = std::max(width, rule.syscall.size());
  }
  auto pad = [&](std::string_view name) {
    return std::string(name) + std::string(width + 2 - std::min(width, name.size()), ' ');
  };
  std::string out;
  for (const auto& rule : seccomp_profile()) {
    out += pad(rule.syscall);
    out += errno_name(rule.answer);
    out += std::string(rule.answer == SeccompErrno::Eperm ? 2 : 1, ' ');
    out += rule.why;
    if (!rule.when_text.empty()) {
      out += " (when ";
      out += rule.when_text;
      out += ")";
    }
    out += '\n';
  }
  for (const auto& kept : seccomp_kept_allowed()) {
    out += pad(kept.syscall) + "allow  " + std::string(kept.why) + '\n';
  }
  out += pad("*") + "allow  everything else; QEMU's own -sandbox filter stacks on top\n";
  return out;
}

}  // namespace qmd::policy
