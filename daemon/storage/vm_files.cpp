#include "daemon/storage/vm_files.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "daemon/launch/child_process.hpp"
#include "base/unique_fd.hpp"
#include "daemon/store/dir_fd.hpp"
#include "daemon/store/remove_tree.hpp"
#include "daemon/store/storage_roots.hpp"

namespace qmd::daemon::storage {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

constexpr int kNewImage = O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;

milliseconds left(Clock::time_point deadline, milliseconds cap) {
  const auto rest = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
  return std::clamp(rest, milliseconds{0}, cap);
}

std::string qemu_img_for(const std::string& qemu_binary) {
  const auto sibling = fs::path(qemu_binary).parent_path() / "qemu-img";
  std::error_code ec;
  return fs::exists(sibling, ec) ? sibling.string() : std::string("qemu-img");
}

// The new image's descriptor; an empty one (no error) when the file exists already.
std::expected<UniqueFd, std::string> open_new_image(const cmdline::FilePrep& prep,
                                                    const PrepPlaces* places) {
  const fs::path path(prep.path);
  int fd = -1;
  if (places == nullptr) {
    // `qmctl trial`: the caller's own files, made as the caller, directories and all.
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
    fd = ::open(prep.path.c_str(), kNewImage, prep.mode);
  } else if (path.parent_path() == fs::path(places->run_dir)) {
    UniqueFd dir = daemon::open_dir_nofollow(AT_FDCWD, places->run_dir.c_str());
    if (!dir) {
      return std::unexpected(
          fmt::format("open the run directory {}: {}", places->run_dir, std::strerror(errno)));
    }
    fd = ::openat(dir.get(), path.filename().c_str(), kNewImage, prep.mode);
  } else {
    auto made = daemon::open_beneath(places->roots, prep.path, O_RDWR | O_CREAT | O_EXCL,
                                     prep.mode);
    if (!made && made.error().why == daemon::PathRefusal::Why::exists) {
      return UniqueFd();
    }
    if (!made) {
      return std::unexpected(made.error().message);
    }
    return std::move(*made);
  }
  if (fd < 0 && errno == EEXIST) {
    return UniqueFd();
  }
  if (fd < 0) {
    return std::unexpected(fmt::format("create {}: {}", prep.path, std::strerror(errno)));
  }
  return UniqueFd(fd);
}

std::optional<std::string> create_image(const cmdline::FilePrep& prep, const std::string& qemu_img,
                                        const std::string& log, Clock::time_point deadline,
                                        std::optional<FileOwner> owner, const PrepPlaces* places,
                                        const std::function<void(const std::string&)>& report) {
  auto fd = open_new_image(prep, places);
  if (!fd) {
    return fmt::format("create image {}: {}", prep.path, fd.error());
  }
  if (!*fd) {
    report(fmt::format("prepare: image {} exists, kept", prep.path));
    return std::nullopt;
  }
  auto formatted =
      format_image(fd->get(), prep.format, prep.size, qemu_img, log, left(deadline, milliseconds{30000}));
  if (formatted && owner && ::fchown(fd->get(), owner->uid, owner->gid) != 0) {
    formatted = std::unexpected(fmt::format("hand it to {}:{}: {}", owner->uid, owner->gid,
                                            std::strerror(errno)));
  }
  if (!formatted) {
    return fmt::format("create image {}: {}", prep.path, formatted.error());
  }
  report(fmt::format("prepare: created {} image {} ({} bytes)", prep.format, prep.path,
                     prep.size));
  return std::nullopt;
}

// The TPM state directory or the VARS copy: made (or kept) without following a link where it
// should be, owner and mode set on the opened descriptor.
std::optional<std::string> prepare_one(const cmdline::FilePrep& prep, daemon::PathOwner owner,
                                       const std::function<void(const std::string&)>& report) {
  if (prep.kind == cmdline::FilePrep::Kind::make_dir) {
    auto made = daemon::make_dir_path(prep.path, prep.mode, owner);
    if (!made) {
      return made.error();
    }
    report(fmt::format("prepare: directory {} (mode {:o})", prep.path, prep.mode));
    return std::nullopt;
  }
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

}  // namespace

std::expected<void, std::string> format_image(int fd, const std::string& format,
                                              std::uint64_t size, const std::string& qemu_img,
                                              const std::string& log, milliseconds timeout) {
  if (format == "raw") {
    if (::ftruncate(fd, static_cast<off_t>(size)) != 0) {
      return std::unexpected(fmt::format("set its size to {} bytes: {}", size,
                                         std::strerror(errno)));
    }
    return {};
  }
  // qemu-img runs as qmd and reaches the very file through qmd's descriptor.
  const std::string via = fmt::format("/proc/{}/fd/{}", ::getpid(), fd);
  return run_to_completion({qemu_img, "create", "-q", "-f", format, via, std::to_string(size)},
                           log, timeout);
}

std::optional<std::string> prepare_files(const cmdline::RenderResult& result,
                                         const std::string& log, milliseconds timeout,
                                         const std::function<void(const std::string&)>& report,
                                         std::optional<FileOwner> owner,
                                         const PrepPlaces* places) {
  const auto deadline = Clock::now() + timeout;
  const std::string qemu_img = qemu_img_for(result.binary);
  const auto say = report ? report : [](const std::string&) {};
  for (const auto& prep : result.prepare) {
    if (prep.kind == cmdline::FilePrep::Kind::create_image_if_missing) {
      if (auto failed = create_image(prep, qemu_img, log, deadline, owner, places, say)) {
        return failed;
      }
      continue;
    }
    const daemon::PathOwner made_for =
        owner ? daemon::PathOwner{owner->uid, owner->gid} : daemon::self_owner();
    if (auto failed = prepare_one(prep, made_for, say)) {
      return failed;
    }
  }
  return std::nullopt;
}

}  // namespace qmd::daemon::storage
