#pragma once
// The outer seccomp fence qmd puts around QEMU and its sidecars, as data: which syscalls a
// VMM never needs and what the kernel answers instead. The default is allow — QEMU stacks its
// own `-sandbox` allow-list on top; this profile only removes what would turn a compromised
// QEMU into a compromised host (modules, kexec, mounts, other processes' memory, keys, new user
// namespaces, host time). daemon/launch/seccomp_filter.cpp compiles it with libseccomp.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace qmd::policy {

// What a denied call returns. EPERM reads as "not allowed here"; ENOSYS as "this kernel has no
// such call", which makes glibc fall back to an older call the filter can inspect.
enum class SeccompErrno { Eperm, Enosys };

// One test on a syscall argument; a rule applies when all of its tests hold.
struct SeccompArgTest {
  enum class Op { NotEqual, MaskedEqual };  // arg != value; (arg & mask) == value
  unsigned index = 0;                       // 0..5
  Op op = Op::NotEqual;
  std::uint64_t value = 0;
  std::uint64_t mask = 0;  // MaskedEqual only
};

struct SeccompRule {
  std::string_view syscall;  // libseccomp's name (x86_64)
  std::string_view why;      // one line, shown by `qmd --print-seccomp` and the README
  SeccompErrno answer = SeccompErrno::Eperm;
  std::vector<SeccompArgTest> when;  // empty: always
  std::string_view when_text;        // the tests in words ("flags has CLONE_NEWUSER")
};

// A syscall the profile leaves allowed on purpose although it looks like it belongs above.
struct SeccompKeptAllowed {
  std::string_view syscall;
  std::string_view why;
};

// The deny rules, in the order they are documented. Names are unique.
const std::vector<SeccompRule>& seccomp_profile();
const std::vector<SeccompKeptAllowed>& seccomp_kept_allowed();

// One line per rule: "mount  EPERM  <why>", conditional rules with their condition; then the
// kept-allowed calls and the default. For the README and `qmd --print-seccomp`.
std::string describe_seccomp_profile();

}  // namespace qmd::policy
