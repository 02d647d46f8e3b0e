#pragma once
// Builds the seed images a rendered VM needs (cmdline/seed.hpp) with Debian's genisoimage:
// the payloads (inline, or read from local secrets) are staged in a private directory, the
// image is made through a descriptor in the run directory and handed to the QEMU user.
// Blocking: run it on the pool. A failure leaves no image behind.
#include <chrono>
#include <cstddef>
#include <expected>
#include <optional>
#include <string>

#include "cmdline/render.hpp"
#include "daemon/store/dir_fd.hpp"

namespace qmd::daemon {

// The cap on one payload read from a local secret (inline data has KubeVirt's 2 KiB cap).
inline constexpr std::size_t kSeedSecretMaxBytes = 64 * 1024;

struct SeedBuild {
  std::string secrets_dir;          // qmd.yaml secrets.dir (or its default)
  std::string run_dir;              // where the images go
  std::optional<PathOwner> owner;   // the QEMU user, when QEMU runs as another user
  std::chrono::milliseconds timeout{30000};  // per image
  std::string tool = "genisoimage";
};

// The bytes of `file`: its content, or its secret's key file; nothing for an optional file
// its secret does not hold. The error names the secret, the paths looked at and what to do.
std::expected<std::optional<std::string>, std::string> seed_payload(
    const cmdline::SeedFile& file, const std::string& secrets_dir);

// Builds one image (replacing the one a previous start left).
std::expected<void, std::string> build_seed(const cmdline::SeedPlan& plan,
                                            const SeedBuild& how);

// Builds every seed of `rendered`; the error names the volume and its source.
std::optional<std::string> build_seeds(const cmdline::RenderResult& rendered,
                                       const SeedBuild& how);

}  // namespace qmd::daemon
