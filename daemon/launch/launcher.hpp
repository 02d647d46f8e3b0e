#pragma once
// Starts every child of qmd (QEMU, its sidecars, ssh, the tools) the way a VMM must: fork +
// exec with, in the child, a new session (so the child outlives qmd and never gets its
// terminal's signals), stdin from /dev/null, stdout/stderr appended to a log file (or given
// fds), every other fd closed except the ones passed on, PR_SET_NO_NEW_PRIVS, privileges
// dropped to the QEMU user when qmd is root, and the seccomp profile of
// policy/seccomp_profile.hpp loaded just before execve. A failure in the child before execve
// comes back to the parent as an error naming the step (a CLOEXEC pipe carries it), never as
// a silent exit.
#include <sys/types.h>

#include <expected>
#include <optional>
#include <string>
#include <vector>

namespace qmd::daemon {

struct Credentials {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary groups (e.g. kvm)
};

struct LaunchSpec {
  std::vector<std::string> argv;       // argv[0] is an absolute path or looked up in PATH
  std::vector<std::string> env;        // NAME=VALUE added to (and replacing in) qmd's env
  std::string log_path;                // stdout+stderr, appended; created 0640
  std::string cwd;                     // empty: "/"
  std::optional<Credentials> drop_to;  // set when qmd is root: setgroups/setgid/setuid
  bool seccomp = true;                 // load the deny-list profile before execve
  std::vector<int> keep_fds;           // passed on unchanged (e.g. a tap fd); CLOEXEC cleared
  int output_fd = -1;                  // stdout+stderr to this fd instead of log_path
  int stdin_fd = -1;                   // stdin from this fd instead of /dev/null
  int stdout_fd = -1;                  // stdout alone to this fd (stderr stays as above)
  // Nonzero: the kernel sends this signal to the child when qmd's forking thread (the loop
  // thread) ends, for helpers that must not outlive qmd (an ssh ControlMaster). VMs never.
  // Set again after drop_to (a uid change clears it); the kernel then checks that qmd may
  // signal the dropped user, which root may, a qmd without CAP_KILL may not.
  int parent_death_signal = 0;
};

struct Launched {
  pid_t pid = -1;
  int pidfd = -1;  // pidfd_open(pid); the caller owns it (close it, or wrap it in Asio)
};

// Fork + exec as described above. The error names the step that failed in the child
// ("seccomp: ...", "setuid 998: Operation not permitted", "execve /usr/bin/x: No such file")
// or in the parent ("fork: ..."). On error no child is left running.
std::expected<Launched, std::string> launch(const LaunchSpec& spec);

// This process's environment with `extra` (NAME=VALUE) replacing entries of the same name.
std::vector<std::string> merged_environment(const std::vector<std::string>& extra);

// The user and groups of `name` from the passwd/group databases; an error names the user.
std::expected<Credentials, std::string> lookup_user(const std::string& name);

}  // namespace qmd::daemon
