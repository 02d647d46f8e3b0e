#pragma once
// accessCredentials' local secrets: secret NAME is <secrets dir>/NAME, a directory of key
// files (as a Kubernetes secret is mounted: one file per data key) or one file. Each line is an
// OpenSSH public key; blank lines and # comments are skipped. Read as root, never through a
// link below the configured directory, bounded in size. Blocking: run it on the pool.
#include <chrono>
#include <cstddef>
#include <expected>
#include <string>
#include <vector>

namespace qmd::daemon {

inline constexpr std::size_t kMaxKeyFileBytes = 64 * 1024;
inline constexpr std::size_t kMaxKeyFiles = 64;
inline constexpr std::size_t kMaxKeys = 256;

// The keys of secret `name`, in file-name then line order; an error names the file (and line)
// at fault and what to do.
std::expected<std::vector<std::string>, std::string> read_secret_keys(const std::string& dir,
                                                                      const std::string& name);

// Whether `line` looks like an OpenSSH public key: a known type, base64, an optional comment,
// printable ASCII only. Pure.
bool is_public_key_line(const std::string& line);

// One run's propagation of the keys (Vm::sync_access_keys): when to read the secrets again,
// whether what was read needs pushing, and which failure is news. Pure bookkeeping: the
// reads and the agent's calls stay with the Vm.
class AccessKeySync {
 public:
  using Clock = std::chrono::steady_clock;
  // At the agent's (re)connection, else once per `interval`; a yes starts the next interval.
  bool due(Clock::time_point now, bool connected_now, Clock::duration interval);
  // Keys with `fingerprint` go to the agent: it is new (its users' files may be stale), or
  // they changed since the last push.
  bool needs_push(const std::string& fingerprint, bool connected_now) const;
  void pushed(std::string fingerprint);  // ... and the last failure is over
  // Whether `failure` is to be said: a secret that stays broken is said once, not each time.
  bool report(const std::string& failure);

 private:
  Clock::time_point next_sync_{};
  std::string pushed_;
  std::string error_;
};

}  // namespace qmd::daemon
