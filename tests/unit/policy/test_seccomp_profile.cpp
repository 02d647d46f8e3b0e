#include <doctest/doctest.h>
#include <sched.h>

#include <algorithm>
#include <set>
#include <string>

#include "policy/seccomp_profile.hpp"

using qmd::policy::describe_seccomp_profile;
using qmd::policy::seccomp_kept_allowed;
using qmd::policy::seccomp_profile;
using qmd::policy::SeccompArgTest;
using qmd::policy::SeccompErrno;
using qmd::policy::SeccompRule;

namespace {

const SeccompRule* find_rule(std::string_view name) {
  const auto& rules = seccomp_profile();
  auto it = std::find_if(rules.begin(), rules.end(),
                         [&](const SeccompRule& rule) { return rule.syscall == name; });
  return it == rules.end() ? nullptr : &*it;
}

}  // namespace

TEST_CASE("every rule names a distinct syscall and says why") {
  std::set<std::string_view> names;
  for (const auto& rule : seccomp_profile()) {
    CHECK_MESSAGE(names.insert(rule.syscall).second, rule.syscall);
    CHECK_MESSAGE(!rule.why.empty(), rule.syscall);
    CHECK_MESSAGE(rule.when.empty() == rule.when_text.empty(), rule.syscall);
    for (const auto& test : rule.when) {
      CHECK(test.index < 6);
    }
  }
}

TEST_CASE("the profile denies what a VMM never needs") {
  for (const char* name : {"init_module",
                           "finit_module",
                           "delete_module",
                           "kexec_load",
                           "kexec_file_load",
                           "reboot",
                           "mount",
                           "umount2",
                           "pivot_root",
                           "swapon",
                           "swapoff",
                           "bpf",
                           "ptrace",
                           "process_vm_readv",
                           "process_vm_writev",
                           "keyctl",
                           "add_key",
                           "request_key",
                           "acct",
                           "quotactl",
                           "quotactl_fd",
                           "setns",
                           "open_by_handle_at",
                           "perf_event_open",
                           "lookup_dcookie",
                           "syslog",
                           "settimeofday",
                           "clock_settime",
                           "adjtimex",
                           "clock_adjtime",
                           "sethostname",
                           "setdomainname",
                           "iopl",
                           "ioperm",
                           "nfsservctl",
                           "vhangup",
                           "uselib",
                           "fsopen",
                           "fsmount",
                           "fsconfig",
                           "fspick",
                           "move_mount",
                           "open_tree"}) {
    const SeccompRule* rule = find_rule(name);
    REQUIRE_MESSAGE(rule != nullptr, name);
    CHECK_MESSAGE(rule->answer == SeccompErrno::Eperm, name);
    CHECK_MESSAGE(rule->when.empty(), name);
  }
}

TEST_CASE("new user namespaces are denied through unshare and clone, by flag") {
  for (const char* name : {"unshare", "clone"}) {
    const SeccompRule* rule = find_rule(name);
    REQUIRE(rule != nullptr);
    REQUIRE(rule->when.size() == 1);
    CHECK(rule->when[0].index == 0);
    CHECK(rule->when[0].op == SeccompArgTest::Op::MaskedEqual);
    CHECK(rule->when[0].mask == CLONE_NEWUSER);
    CHECK(rule->when[0].value == CLONE_NEWUSER);
  }
  const SeccompRule* clone3 = find_rule("clone3");
  REQUIRE(clone3 != nullptr);
  CHECK(clone3->answer == SeccompErrno::Enosys);  // glibc falls back to clone on ENOSYS
  CHECK(clone3->when.empty());
}

TEST_CASE("personality allows only PER_LINUX and the query") {
  const SeccompRule* rule = find_rule("personality");
  REQUIRE(rule != nullptr);
  REQUIRE(rule->when.size() == 2);
  std::set<std::uint64_t> allowed;
  for (const auto& test : rule->when) {
    CHECK(test.op == SeccompArgTest::Op::NotEqual);
    CHECK(test.index == 0);
    allowed.insert(test.value);
  }
  CHECK(allowed == std::set<std::uint64_t>{0, 0xffffffff});
}

TEST_CASE("userfaultfd stays allowed for postcopy migration") {
  CHECK(find_rule("userfaultfd") == nullptr);
  const auto& kept = seccomp_kept_allowed();
  REQUIRE(kept.size() == 1);
  CHECK(kept[0].syscall == "userfaultfd");
}

TEST_CASE("the description has one line per rule, then the allowed ones and the default") {
  const std::string text = describe_seccomp_profile();
  const auto lines = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
  CHECK(lines == seccomp_profile().size() + seccomp_kept_allowed().size() + 1);
  CHECK(text.starts_with("init_module "));
  CHECK(text.find("\nclone3 ") != std::string::npos);
  CHECK(text.find("ENOSYS flags are out of the filter's reach") != std::string::npos);
  CHECK(text.find("(when flags has CLONE_NEWUSER)") != std::string::npos);
  CHECK(text.find("\nuserfaultfd ") != std::string::npos);
  CHECK(text.ends_with("allow  everything else; QEMU's own -sandbox filter stacks on top\n"));
}
