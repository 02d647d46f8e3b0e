#pragma once
// accessCredentials' local secrets: secret NAME is <secrets dir>/NAME, a directory of key
// files (as a Kubernetes secret is mounted: one file per data key) or one file. Each line is an
// OpenSSH public key; blank lines and # comments are skipped. Read as root, never through a
// link below the configured directory, bounded in size. Blocking: run it on the pool.
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

}  // namespace qmd::daemon
