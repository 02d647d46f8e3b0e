#include "daemon/runtime/disk_fds.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "daemon/storage/image_tools.hpp"
#include "daemon/store/remove_tree.hpp"
#include "daemon/store/storage_roots.hpp"

namespace qmd::daemon {

namespace {

namespace json = boost::json;

// Opened without blocking (a FIFO named as a disk would hang the open), then checked to be
// an image: a regular file or a block device.
std::expected<UniqueFd, std::string> checked(UniqueFd fd, const std::string& path) {
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))) {
    return std::unexpected(fmt::format("{} is neither a file nor a block device", path));
  }
  const int flags = ::fcntl(fd.get(), F_GETFL);
  if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK) != 0) {
    return std::unexpected(fmt::format("open {}: {}", path, std::strerror(errno)));
  }
  return fd;
}

std::expected<UniqueFd, std::string> open_one(const std::string& path, int flags,
                                              std::span<const std::string> roots,
                                              const std::string& run_dir) {
  flags |= O_NONBLOCK;
  const std::filesystem::path where(path);
  if (!run_dir.empty() && where.parent_path() == std::filesystem::path(run_dir)) {
    UniqueFd dir = open_dir_nofollow(AT_FDCWD, run_dir.c_str());
    UniqueFd fd(dir ? ::openat(dir.get(), where.filename().c_str(),
                               flags | O_NOFOLLOW | O_CLOEXEC)
                    : -1);
    if (!fd) {
      return std::unexpected(fmt::format("open {}: {}", path, std::strerror(errno)));
    }
    return checked(std::move(fd), path);
  }
  auto fd = open_beneath(roots, path, flags);
  if (!fd) {
    return std::unexpected(fd.error().message);
  }
  return checked(std::move(*fd), path);
}

// A claim device from qmd.yaml: opened by its path (a /dev/disk/by-id link is fine: the
// path is the administrator's), and only a block device will do.
std::expected<UniqueFd, std::string> open_device(const std::string& path, int flags) {
  UniqueFd fd(::open(path.c_str(), flags | O_NONBLOCK | O_CLOEXEC));
  struct stat st {};
  if (!fd || ::fstat(fd.get(), &st) != 0) {
    return std::unexpected(fmt::format("open {}: {}", path, std::strerror(errno)));
  }
  if (!S_ISBLK(st.st_mode)) {
    return std::unexpected(fmt::format("{} (storage.claimDevices) is not a block device", path));
  }
  return checked(std::move(fd), path);
}

}  // namespace

std::vector<BlockFile> disk_files(const std::vector<std::string>& args) {
  std::vector<BlockFile> out;
  for (std::size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] != "-blockdev" || !args[i + 1].starts_with('{')) {
      continue;
    }
    std::error_code ec;
    const json::value node = json::parse(args[i + 1], ec);
    if (ec || !node.is_object()) {
      continue;
    }
    const auto& o = node.as_object();
    const auto* name = o.if_contains("node-name");
    const auto* driver = o.if_contains("driver");
    const auto* file = o.if_contains("filename");
    if (name == nullptr || driver == nullptr || file == nullptr || !name->is_string() ||
        !driver->is_string() || !file->is_string() || !name->as_string().starts_with("file-") ||
        (driver->as_string() != "file" && driver->as_string() != "host_device")) {
      continue;
    }
    const auto* readonly = o.if_contains("read-only");
    out.push_back({i + 1, std::string(name->as_string()), std::string(file->as_string()),
                   readonly != nullptr && readonly->is_bool() && readonly->as_bool()});
  }
  return out;
}

std::vector<std::string> with_fdsets(const std::vector<std::string>& args,
                                     const std::vector<BlockFile>& files,
                                     const std::vector<std::vector<int>>& fds) {
  std::vector<std::string> out;
  out.reserve(args.size() + 4 * files.size());
  std::size_t next = 0;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (next < files.size() && files[next].arg == i + 1 && next < fds.size()) {
      const std::size_t set = next + 1;
      for (int fd : fds[next]) {
        out.push_back("-add-fd");
        out.push_back(fmt::format("fd={},set={},opaque={}", fd, set, files[next].node));
      }
      out.push_back(args[i]);
      json::object node = json::parse(args[i + 1]).as_object();
      node["filename"] = fmt::format("/dev/fdset/{}", set);
      // Without auto-read-only QEMU opens a writable node read-write once and keeps that
      // access mode through every permission change (a mirror, a migration switchover), so
      // the set's one descriptor serves all its dups: they share one open file description
      // and QEMU's image locks on it never conflict with themselves, only with another VM.
      node["auto-read-only"] = false;
      out.push_back(json::serialize(node));
      ++i;
      ++next;
      continue;
    }
    out.push_back(args[i]);
  }
  return out;
}

std::string with_image_names(std::string_view text, const std::vector<std::string>& images) {
  constexpr std::string_view kPrefix = "/dev/fdset/";
  std::string out;
  out.reserve(text.size());
  for (std::size_t at = text.find(kPrefix); at != std::string_view::npos;
       at = text.find(kPrefix)) {
    std::size_t end = at + kPrefix.size();
    std::size_t set = 0;
    while (end < text.size() && text[end] >= '0' && text[end] <= '9' && set < images.size() + 1) {
      set = set * 10 + static_cast<std::size_t>(text[end] - '0');
      ++end;
    }
    const bool known = end > at + kPrefix.size() && set >= 1 && set <= images.size() &&
                       (end == text.size() || text[end] < '0' || text[end] > '9');
    out.append(text.substr(0, at));
    out.append(known ? std::string_view(images[set - 1]) : text.substr(at, end - at));
    text.remove_prefix(end);
  }
  out.append(text);
  return out;
}

std::expected<std::vector<UniqueFd>, std::string> open_disk_image(
    const std::string& path, bool readonly, std::span<const std::string> roots,
    const std::string& run_dir, std::span<const std::string> devices) {
  const int flags = readonly ? O_RDONLY : O_RDWR;
  auto fd = std::ranges::find(devices, path) != devices.end()
                ? open_device(path, flags)
                : open_one(path, flags, roots, run_dir);
  if (!fd) {
    return std::unexpected(fd.error());
  }
  if (auto plain = storage::refuse_external_data_file(fd->get()); !plain) {
    return std::unexpected(fmt::format("{}: {}", path, plain.error()));
  }
  std::vector<UniqueFd> out;
  out.push_back(std::move(*fd));
  return out;
}

}  // namespace qmd::daemon
