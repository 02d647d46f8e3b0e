#include "daemon/trial/file_prep.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

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
                                       
                                   const std::function<void(const std::string&)>& report) {
  using Kind = cmdline::FilePrep::Kind;
  std::error_code ec;
  const auto perms = static_cast<fs::perms>(prep.mode);
  switch (prep.kind) {
    case Kind::make_dir: {
      fs::create_directories(prep.path, ec);
      if (!ec) {
        fs::permissions(prep.path, perms, ec);
      }
      if (ec) {
        return fmt::format("make directory {}: {}", prep.path, ec.message());
      }
      report(fmt::format("prepare: directory {} (mode {:o})", prep.path, prep.mode));
      return std::nullopt;
    }
    case Kind::copy_if_missing: {
      if (fs::exists(prep.path, ec)) {
        report(fmt::format("prepare: {} exists, kept", prep.path));
        return std::nullopt;
      }
      fs::create_directories(fs::path(prep.path).parent_path(), ec);
      if (!ec) {
        fs::copy_file(prep.source, prep.path, ec);
      }
      if (!ec) {
        fs::permissions(prep.path, perms, ec);
      }
      if (ec) {
        return fmt::format("copy {} to {}: {}", prep.source, prep.path, ec.message());
      }
      report(fmt::format("prepare: copied {} to {}", prep.source, prep.path));
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
    if (auto failed = prepare_one(prep, qemu_img, log, deadline, say)) {
      return failed;
    }
    if (owner && ::chown(prep.path.c_str(), owner->uid, owner->gid) != 0) {
      return fmt::format("chown {} to {}:{}: {}", prep.path, owner->uid, owner->gid,
                         std::strerror(errno));
    }
  }
  return std::nullopt;
}

}  // namespace qmd::trial
