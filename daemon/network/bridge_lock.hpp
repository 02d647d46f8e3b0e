#pragma once
// Two qmds of one host must never run the same bridge: each would make, repair and remove the
// bridge, its nftables tables and its dnsmasq as its own, and wreck the other's guests. A root
// qmd holds a write lock on one file per bridge it makes (the NAT network's and each managed
// bridge network's) for as long as it runs; the kernel refuses a second holder, and ends a
// qmd's locks with the qmd, however it ends. Bridges are per network namespace, so the file
// names the namespace too: qmds in two namespaces may each have a qmd0.
#include <cstdint>
#include <expected>
#include <string>

#include "base/unique_fd.hpp"

namespace qmd::daemon {

inline constexpr const char* kBridgeLockDir = "/run/qmd-bridges";

// Held for qmd's lifetime: an open file description lock, tied to this one descriptor.
class BridgeLock {
 public:
  explicit BridgeLock(UniqueFd file) : file_(std::move(file)) {}

 private:
  UniqueFd file_;
};

// The file of `bridge` in the network namespace whose /proc/PID/ns/net inode is `netns`.
std::string bridge_lock_file(const std::string& dir, std::uint64_t netns,
                             const std::string& bridge);

// Takes the lock of `bridge` (in this process's network namespace) under `dir` (made 0755
// when missing; it and the file refused when a link or writable by anyone but this process's
// user). Refused, naming the bridge, `key` (the qmd.yaml key that names it) and how to find
// the other qmd, while a live qmd holds it.
std::expected<BridgeLock, std::string> lock_bridge(const std::string& bridge,
                                                   const std::string& key,
                                                   const std::string& dir = kBridgeLockDir);

}  // namespace qmd::daemon
