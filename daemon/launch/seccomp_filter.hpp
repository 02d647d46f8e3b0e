#pragma once
// The seccomp profile of policy/seccomp_profile.hpp compiled to classic BPF with libseccomp,
// ahead of fork: the child then loads it with one prctl, which is async-signal-safe (libseccomp
// itself allocates and is not).
#include <linux/filter.h>

#include <expected>
#include <string>
#include <vector>

#include "policy/seccomp_profile.hpp"

namespace qmd::daemon {

// One or more classic BPF programs, loaded in order; the kernel runs every one of them and the
// strictest answer wins. The first is libseccomp's; the others are small hand-built programs for
// rules libseccomp 2.5 cannot express (it refuses two tests on one argument, which
// "personality: persona not 0 and not 0xffffffff" needs).
class SeccompProgram {
 public:
  explicit SeccompProgram(std::vector<std::vector<sock_filter>> programs)
      : programs_(std::move(programs)) {}
  std::size_t size() const {  // instructions in all programs
    std::size_t total = 0;
    for (const auto& code : programs_) {
      total += code.size();
    }
    return total;
  }
  // sock_fprogs pointing into this object; valid while it lives and is not moved.
  std::vector<sock_fprog> fprogs() const {
    std::vector<sock_fprog> out;
    for (const auto& code : programs_) {
      out.push_back(sock_fprog{static_cast<unsigned short>(code.size()),
                               const_cast<sock_filter*>(code.data())});
    }
    return out;
  }

 private:
  std::vector<std::vector<sock_filter>> programs_;
};

// Native x86_64 only. Syscalls made through the i386 (int 0x80) or x32 ABIs — which QEMU never
// uses, and whose different syscall numbers would slip past a deny-list written for x86_64 —
// get ENOSYS as a whole (libseccomp's "bad arch" action): the call is refused just as surely as
// by killing, and a VMM is not killed for it (DESIGN: prefer an errno to killing).
std::expected<SeccompProgram, std::string> compile_seccomp(
    const std::vector<policy::SeccompRule>& rules);

// The profile compiled once (thread-safe); an error names the rule that did not compile.
const std::expected<SeccompProgram, std::string>& qmd_seccomp_program();

// libseccomp's pseudo-code for a profile, for debugging (`qmd --print-seccomp=pfc`).
std::expected<std::string, std::string> seccomp_pfc(const std::vector<policy::SeccompRule>& rules);

}  // namespace qmd::daemon
