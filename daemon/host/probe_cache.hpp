#pragma once
// The host probe kept between qmd starts. Probing runs QEMU about 40 times (1.5 s on a
// 2-core host), and what it finds changes with the QEMU binary, the kernel and /dev/kvm:
// those make the key, and a cache written under another key is not used. The file lives in
// qmd's state directory (0600, written atomically). It is read as untrusted all the same (a
// bug elsewhere could let someone change it): a link, another owner, a mode others may
// write, a size over the cap, bad JSON, a wrong key or a wrong field each mean "probe again",
// with the reason.
#include <chrono>
#include <cstddef>
#include <expected>
#include <string>
#include <string_view>

#include "policy/host_caps.hpp"

namespace qmd::daemon {

// What a probe's answer depends on. Each part is one line of text, compared whole.
struct ProbeKey {
  std::string qmd;     // qmd's version and its own executable (a newer qmd may probe more)
  std::string qemu;    // the binary's path, device:inode, size and mtime (ns)
  std::string kernel;  // uname's release and version
  std::string kvm;     // /dev/kvm: absent, or its rdev, mode, owner and group
  bool operator==(const ProbeKey&) const = default;
};

// stat() and uname() only: cheap enough for every start.
ProbeKey probe_key(const std::string& qemu_binary);

struct CachedProbe {
  policy::HostCaps caps;
  std::chrono::system_clock::time_point probed_at;
};

// Where the caps a qmd uses came from (GET /v1/host shows it as "probe").
struct ProbeStatus {
  std::string started_from;  // "cache" or "probe": how this qmd got its caps at start
  std::chrono::system_clock::time_point probed_at;  // when the caps in use were probed
  // The probe again in the background after a start from the cache: "pending", then "same"
  // or "changed" (the caps were replaced); "none" after a start that probed.
  std::string refresh = "none";
  std::string cache_note{};  // why the cache was not used, or why it could not be written
};

// A host's caps are a few KiB (about 12 here); anything near this is not ours.
inline constexpr std::size_t kProbeCacheMaxBytes = 256 * 1024;

// <state dir>/host-probe.json
std::string probe_cache_path(const std::string& state_dir);

// The file's text for `probe` taken under `key`.
std::string probe_cache_text(const ProbeKey& key, const CachedProbe& probe);
// The probe in `text` when it was taken under `key` and every field checks out; else why not.
std::expected<CachedProbe, std::string> parse_probe_cache(std::string_view text,
                                                          const ProbeKey& key,
                                                          const std::string& qemu_binary);

// Reads `path` (not a link; a regular file of qmd's user, writable by no one else, at most
// kProbeCacheMaxBytes) and parses it. The error says why the cache is not used.
std::expected<CachedProbe, std::string> read_probe_cache(const std::string& path,
                                                         const ProbeKey& key,
                                                         const std::string& qemu_binary);
// Replaces `path` atomically (0600).
std::expected<void, std::string> write_probe_cache(const std::string& path, const ProbeKey& key,
                                                   const CachedProbe& probe);

}  // namespace qmd::daemon
