#include "daemon/storage/claim_files.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "daemon/store/storage_roots.hpp"
#include "policy/claims.hpp"

namespace qmd::daemon::storage {

namespace {

using Why = PathRefusal::Why;

std::expected<UniqueFd, std::string> checked(UniqueFd fd, const std::string& path, bool device) {
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !(device ? S_ISBLK(st.st_mode) : S_ISREG(st.st_mode))) {
    return std::unexpected(
        fmt::format("{} is not {}", path, device ? "a block device" : "a regular file"));
  }
  const int flags = ::fcntl(fd.get(), F_GETFL);
  if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK) != 0) {
    return std::unexpected(fmt::format("open {}: {}", path, std::strerror(errno)));
  }
  return fd;
}

}  // namespace

std::expected<ClaimFile, std::string> find_claim(const Places& places, std::string_view name) {
  if (!policy::is_claim_name(name)) {
    return std::unexpected(policy::claim_name_error(name));
  }
  if (const auto device = places.devices.find(std::string(name));
      device != places.devices.end()) {
    return ClaimFile{std::string(name), device->second, "raw", true};
  }
  const auto candidates = policy::claim_candidates(places.claims, name);
  std::vector<ClaimFile> found;
  for (const auto& path : candidates) {
    auto opened = open_beneath(places.roots, path, O_PATH);
    if (!opened && opened.error().why == Why::missing) {
      continue;
    }
    if (!opened) {
      return std::unexpected(fmt::format("claim {}: {}", name, opened.error().message));
    }
    const auto file = path.substr(path.rfind('/') + 1);
    found.push_back({std::string(name), path, *policy::claim_format_of(file), false});
  }
  if (found.size() > 1) {
    return std::unexpected(fmt::format(
        "claim {} is both {} and {}; a claim is one file: remove or rename one of them", name,
        found[0].path, found[1].path));
  }
  if (found.empty()) {
    return std::unexpected(fmt::format(
        "claim {} does not exist: looked for {} (and storage.claimDevices in qmd.yaml names no "
        "device for it); create it with `qmctl volume create {} --size SIZE`",
        name, fmt::join(candidates, ", "), name));
  }
  return found.front();
}

std::expected<UniqueFd, std::string> open_claim(const Places& places, const ClaimFile& claim,
                                                int flags) {
  flags |= O_NONBLOCK | O_CLOEXEC;
  if (claim.device) {
    // The administrator's device path (qmd.yaml), which may well be a /dev/disk/by-id link.
    UniqueFd fd(::open(claim.path.c_str(), flags));
    if (!fd) {
      return std::unexpected(fmt::format("claim {}: open {}: {}", claim.name, claim.path,
                                         std::strerror(errno)));
    }
    return checked(std::move(fd), claim.path, true);
  }
  auto fd = open_beneath(places.roots, claim.path, flags);
  if (!fd) {
    return std::unexpected(fmt::format("claim {}: {}", claim.name, fd.error().message));
  }
  return checked(std::move(*fd), claim.path, false);
}

std::vector<ClaimFile> list_claims(const Places& places) {
  std::vector<ClaimFile> out;
  auto dir = open_beneath(places.roots, places.claims, O_RDONLY | O_DIRECTORY);
  if (dir) {
    DIR* stream = ::fdopendir(dir->release());
    while (const dirent* entry = stream ? ::readdir(stream) : nullptr) {
      const std::string file = entry->d_name;
      if (auto name = policy::claim_of_file(file); name && entry->d_type != DT_LNK) {
        out.push_back({*name, places.claims + "/" + file, *policy::claim_format_of(file), false});
      }
    }
    if (stream != nullptr) {
      ::closedir(stream);
    }
  }
  std::ranges::sort(out, {}, &ClaimFile::path);
  for (const auto& [name, device] : places.devices) {
    out.push_back({name, device, "raw", true});
  }
  return out;
}

}  // namespace qmd::daemon::storage
