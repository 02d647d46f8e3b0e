#include "daemon/launch/seccomp_filter.hpp"

#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <memory>
#include <set>

#include "base/unique_fd.hpp"

namespace qmd::daemon {
namespace {

struct CtxRelease {
  void operator()(void* ctx) const { seccomp_release(ctx); }
};
using Ctx = std::unique_ptr<void, CtxRelease>;

std::string why_failed(std::string_view what, int rc) {
  return std::string(what) + ": " + std::strerror(-rc);
}

int errno_of(policy::SeccompErrno answer) {
  return answer == policy::SeccompErrno::Eperm ? EPERM : ENOSYS;
}

std::uint32_t action_of(policy::SeccompErrno answer) { return SCMP_ACT_ERRNO(errno_of(answer)); }

scmp_arg_cmp compare_of(const policy::SeccompArgTest& test) {
  if (test.op == policy::SeccompArgTest::Op::MaskedEqual) {
    return scmp_arg_cmp{test.index, SCMP_CMP_MASKED_EQ, test.mask, test.value};
  }
  return scmp_arg_cmp{test.index, SCMP_CMP_NE, test.value, 0};
}

// libseccomp 2.5 takes at most one test per argument in a rule.
bool libseccomp_can_express(const policy::SeccompRule& rule) {
  std::set<unsigned> args;
  for (const auto& test : rule.when) {
    if (!args.insert(test.index).second) {
      return false;
    }
  }
  return true;
}

// "argument N is none of these values": every test NotEqual on the same argument.
bool is_not_in_set(const policy::SeccompRule& rule) {
  return std::all_of(rule.when.begin(), rule.when.end(), [&](const policy::SeccompArgTest& t) {
    return t.op == policy::SeccompArgTest::Op::NotEqual && t.index == rule.when[0].index &&
           t.index < 6;
  });
}

std::expected<int, std::string> syscall_number(std::string_view syscall) {
  const std::string name(syscall);
  const int nr = seccomp_syscall_resolve_name(name.c_str());
  if (nr == __NR_SCMP_ERROR) {
    return std::unexpected("seccomp rule " + name + ": libseccomp does not know this syscall");
  }
  return nr;
}

// A hand-built program for one not-in-set rule, native arch only (libseccomp's program
// already refuses the other ABIs):
//   arch != native -> allow; nr != N -> allow; arg == v (both 32-bit halves), for any v ->
//   allow; otherwise -> errno.
std::vector<sock_filter> not_in_set_program(const policy::SeccompRule& rule, int nr) {
  const unsigned arg = rule.when[0].index;
  const std::uint32_t lo_offset = offsetof(seccomp_data, args) + 8 * arg;  // little-endian
  const std::uint32_t hi_offset = lo_offset + 4;
  const std::size_t values = rule.when.size();
  const std::size_t allow = 4 + 4 * values + 1;  // index of the final "allow"
  auto to_allow = [&](std::size_t at) { return static_cast<unsigned char>(allow - at - 1); };
  auto load = [](std::uint32_t offset) {
    return sock_filter{BPF_LD | BPF_W | BPF_ABS, 0, 0, offset};
  };
  auto jump_eq = [](std::uint32_t value, unsigned char jt, unsigned char jf) {
    return sock_filter{BPF_JMP | BPF_JEQ | BPF_K, jt, jf, value};
  };
  std::vector<sock_filter> code;
  code.push_back(load(offsetof(seccomp_data, arch)));
  code.push_back(jump_eq(seccomp_arch_native(), 0, to_allow(1)));
  code.push_back(load(offsetof(seccomp_data, nr)));
  code.push_back(jump_eq(static_cast<std::uint32_t>(nr), 0, to_allow(3)));
  for (const auto& test : rule.when) {
    code.push_back(load(hi_offset));
    code.push_back(jump_eq(static_cast<std::uint32_t>(test.value >> 32), 0, 2));
    code.push_back(load(lo_offset));
    code.push_back(jump_eq(static_cast<std::uint32_t>(test.value), to_allow(code.size()), 0));
  }
  const auto answer = static_cast<std::uint32_t>(errno_of(rule.answer));
  code.push_back(
      sock_filter{BPF_RET | BPF_K, 0, 0, SECCOMP_RET_ERRNO | (answer & SECCOMP_RET_DATA)});
  code.push_back(sock_filter{BPF_RET | BPF_K, 0, 0, SECCOMP_RET_ALLOW});
  return code;
}

std::expected<Ctx, std::string> build(const std::vector<policy::SeccompRule>& rules) {
  Ctx ctx(seccomp_init(SCMP_ACT_ALLOW));
  if (!ctx) {
    return std::unexpected("seccomp_init failed");
  }
  // Only the native arch is in the filter; see seccomp_filter.hpp for i386/x32.
  if (int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ERRNO(ENOSYS));
      rc != 0) {
    return std::unexpected(why_failed("seccomp bad-arch action", rc));
  }
  // qmd sets PR_SET_NO_NEW_PRIVS itself in the child and loads the exported program there.
  if (int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_NNP, 0); rc != 0) {
    return std::unexpected(why_failed("seccomp no_new_privs attribute", rc));
  }
  for (const auto& rule : rules) {
    const std::string name(rule.syscall);
    auto nr = syscall_number(rule.syscall);
    if (!nr) {
      return std::unexpected(nr.error());
    }
    if (!libseccomp_can_express(rule)) {
      if (is_not_in_set(rule) && rule.when.size() <= 60) {  // BPF jumps reach 255 forward
        continue;  // a program of its own: not_in_set_program
      }
      return std::unexpected("seccomp rule " + name + ": cannot compile its argument tests");
    }
    std::vector<scmp_arg_cmp> cmps;
    for (const auto& test : rule.when) {
      cmps.push_back(compare_of(test));
    }
    const int rc = seccomp_rule_add_array(ctx.get(), action_of(rule.answer), *nr,
                                          static_cast<unsigned>(cmps.size()), cmps.data());
    if (rc != 0) {
      return std::unexpected(why_failed("seccomp rule " + name, rc));
    }
  }
  return ctx;
}

// libseccomp 2.5 exports only to a file descriptor: a memfd holds it until read back.
std::expected<std::string, std::string> export_to_memory(const Ctx& ctx,
                                                         int (*exporter)(const scmp_filter_ctx,
                                                                         int)) {
  UniqueFd fd(::memfd_create("qmd-seccomp", MFD_CLOEXEC));
  if (!fd) {
    return std::unexpected(std::string("memfd_create: ") + std::strerror(errno));
  }
  if (int rc = exporter(ctx.get(), fd.get()); rc != 0) {
    return std::unexpected(why_failed("seccomp export", rc));
  }
  std::string out;
  char buf[4096];
  off_t offset = 0;
  for (;;) {
    const ssize_t n = ::pread(fd.get(), buf, sizeof buf, offset);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return std::unexpected(std::string("seccomp export read: ") + std::strerror(errno));
    }
    if (n == 0) {
      return out;
    }
    out.append(buf, static_cast<std::size_t>(n));
    offset += n;
  }
}

}  // namespace

std::expected<SeccompProgram, std::string> compile_seccomp(
    const std::vector<policy::SeccompRule>& rules) {
  auto ctx = build(rules);
  if (!ctx) {
    return std::unexpected(ctx.error());
  }
  auto bytes = export_to_memory(*ctx, seccomp_export_bpf);
  if (!bytes) {
    return std::unexpected(bytes.error());
  }
  if (bytes->empty() || bytes->size() % sizeof(sock_filter) != 0 ||
      bytes->size() / sizeof(sock_filter) > BPF_MAXINSNS) {
    return std::unexpected("seccomp export: unexpected program size " +
                           std::to_string(bytes->size()));
  }
  std::vector<std::vector<sock_filter>> programs(1);
  programs[0].resize(bytes->size() / sizeof(sock_filter));
  std::memcpy(programs[0].data(), bytes->data(), bytes->size());
  for (const auto& rule : rules) {
    if (!libseccomp_can_express(rule)) {
      programs.push_back(not_in_set_program(rule, *syscall_number(rule.syscall)));
    }
  }
  return SeccompProgram(std::move(programs));
}

const std::expected<SeccompProgram, std::string>& qmd_seccomp_program() {
  static const auto program = compile_seccomp(policy::seccomp_profile());
  return program;
}

std::expected<std::string, std::string> seccomp_pfc(const std::vector<policy::SeccompRule>& rules) {
  auto ctx = build(rules);
  if (!ctx) {
    return std::unexpected(ctx.error());
  }
  return export_to_memory(*ctx, seccomp_export_pfc);
}

}  // namespace qmd::daemon
