#include "daemon/trial/file_prep.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "daemon/store/dir_fd.hpp"
#include "daemon/trial/process.hpp"

namespace qmd::trial {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

milliseconds left(Clock::time_point deadline, milliseconds cap) {
  const auto rest = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
  return std::clamp(rest, milliseconds{0}, cap);
}

std::string qemu_img_for(const std::string& qemu_binary) {
  const auto sibling = fs::path(qemu_binary).parent_path() / "qemu-img";
  std::error_code ec;
  return fs::exists(sibling, ec) ? sibling.string() : std::string("qemu-img");
}

std::optional<std::string> prepare_one(const cmdline::FilePrep& prep, const std::string& qemu_img,
                                   const std::string& log, Clock::time_point deadline,
                                   daemon::PathOwner owner,
                                   const std::function<void(const std::string&)>& report) {
  using Kind = cmdline::FilePrep::Kind;
  std::error_code ec;
  const auto perms = static_cast<fs::perms>(prep.mode);
  switch (prep.kind) {
    case Kind::make_dir: {
      // A directory QEMU writes in (the TPM state): made, or kept, without following a link
      // where it should be, and its owner and mode set on the opened descriptor.
      auto made = daemon::make_dir_path(prep.path, prep.mode, owner);
      if (!made) {
        return made.error();
      }
      report(fmt::format("prepare: directory {} (mode {:o})", prep.path, prep.mode));
      return std::nullopt;
    }
    case Kind::copy_if_missing: {
      // The VARS copy, in a directory qmd owns: a new file (never through a link), QEMU's.
      auto parent = daemon::open_parent(prep.path);
      if (!parent) {
        return fmt::format("copy {} to {}: {}", prep.source, prep.path, parent.error());
      }
      auto copied = daemon::copy_if_missing_at(parent->first.get(), parent->second, prep.source,
                                               prep.mode, owner, prep.path);
      if (!copied) {
        return fmt::format("copy {} to {}: {}", prep.source, prep.path, copied.error());
      }
      report(*copied ? fmt::format("prepare: copied {} to {}", prep.source, prep.path)
                     : fmt::format("prepare: {} exists, kept", prep.path));
      return std::nullopt;
    }
    case Kind::create_image_if_missing: {
      if (fs::exists(prep.path, ec)) {
        report(fmt::format("prepare: image {} exists, kept", prep.path));
        return std::nullopt;
      }
      fs::create_directories(fs::path(prep.path).parent_path(), ec);
      const std::vector<std::string> argv{
          qemu_img, "create", "-q", "-f", prep.format, prep.path, std::to_string(prep.size)};
      if (auto done = run_to_completion(argv, log, left(deadline, milliseconds{30000})); !done) {
        return fmt::format("create image {}: {}", prep.path, done.error());
      }
      fs::permissions(prep.path, perms, ec);
      report(fmt::format("prepare: created {} image {} ({} bytes)", prep.format, prep.path,
                         prep.size));
      return std::nullopt;
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> prepare_files(const cmdline::RenderResult& result,
                                         const std::string& log, milliseconds timeout,
                                         const std::function<void(const std::string&)>& report,
                                         std::optional<FileOwner> owner) {
  const auto deadline = Clock::now() + timeout;
  const std::string qemu_img = qemu_img_for(result.binary);
  const auto say = report ? report : [](const std::string&) {};
  for (const auto& prep : result.prepare) {
    const daemon::PathOwner made_for =
        owner ? daemon::PathOwner{owner->uid, owner->gid} : daemon::self_owner();
    if (auto failed = prepare_one(prep, qemu_img, log, deadline, made_for, say)) {
      return failed;
    }
    // Images only: what make_dir and copy_if_missing made has its owner from its descriptor.
    const bool image = prep.kind == cmdline::FilePrep::Kind::create_image_if_missing;
    if (image && owner && ::chown(prep.path.c_str(), owner->uid, owner->gid) != 0) {
      return fmt::format("chown {} to {}:{}: {}", prep.path, owner->uid, owner->gid,
                         std::strerror(errno));
    }
  }
  return std::nullopt;
}

}  // namespace qmd::trial
