#include "daemon/storage/claim_ops.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>

#include "daemon/storage/image_size.hpp"
#include "daemon/storage/vm_files.hpp"
#include "daemon/store/storage_roots.hpp"
#include "policy/claims.hpp"

namespace qmd::daemon::storage {

namespace {

using Why = PathRefusal::Why;

struct Source {
  UniqueFd fd;
  std::string format;
  std::uint64_t size = 0;
};

// --from FILE: beneath a root, through no link; a raw or qcow2 image without a backing file.
std::expected<Source, std::string> open_from(const Places& places, const std::string& path,
                                             const Tools& tools) {
  auto fd = open_beneath(places.roots, path, O_RDONLY | O_NONBLOCK);
  if (!fd) {
    return std::unexpected(fmt::format("--from: {}", fd.error().message));
  }
  struct stat st {};
  if (::fstat(fd->get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return std::unexpected(fmt::format("--from: {} is not a regular file", path));
  }
  auto info = image_info(fd->get(), tools);
  if (!info) {
    return std::unexpected(fmt::format("--from {}: {}", path, info.error()));
  }
  if (info->format != "raw" && info->format != "qcow2") {
    return std::unexpected(fmt::format("--from {}: it is a {} image; qmd takes raw and qcow2 "
                                       "(convert it with qemu-img convert -O qcow2)",
                                       path, info->format));
  }
  if (info->has_backing) {
    return std::unexpected(fmt::format(
        "--from {}: it has a backing file, which qmd does not follow; flatten it first "
        "(qemu-img convert -O qcow2 {} FLAT.qcow2)",
        path, path));
  }
  return Source{std::move(*fd), info->format, info->virtual_size};
}

std::expected<Source, std::string> open_clone(const Places& places, const std::string& name) {
  auto claim = find_claim(places, name);
  if (!claim) {
    return std::unexpected(fmt::format("--clone: {}", claim.error()));
  }
  auto fd = open_claim(places, *claim, O_RDONLY);
  if (!fd) {
    return std::unexpected(fd.error());
  }
  auto size = image_virtual_size(fd->get(), claim->format);
  if (!size) {
    return std::unexpected(fmt::format("--clone {}: {}", name, size.error()));
  }
  return Source{std::move(*fd), claim->format, *size};
}

std::expected<std::optional<Source>, std::string> open_source(const Places& places,
                                                              const NewClaim& request,
                                                              const Tools& tools) {
  if (!request.from.empty()) {
    return open_from(places, request.from, tools);
  }
  if (!request.clone.empty()) {
    return open_clone(places, request.clone);
  }
  return std::nullopt;
}

std::expected<void, std::string> fill(int fd, const NewClaim& request,
                                      std::optional<Source>& source, const Tools& tools) {
  if (!source) {
    return format_image(fd, request.format, request.size, tools.qemu_img, tools.log,
                               tools.quick_timeout);
  }
  const std::uint64_t size = std::max(request.size, source->size);
  return copy_image(source->fd.get(), source->format, fd, request.format, size, tools);
}

MadeFile made_file(int fd, const std::string& path) {
  struct stat st {};
  (void)::fstat(fd, &st);
  return {path, st.st_dev, st.st_ino};
}

}  // namespace

std::expected<ClaimFile, std::string> create_claim(const Places& places, const NewClaim& request,
                                                   const Tools& tools) {
  if (!policy::is_claim_name(request.name)) {
    return std::unexpected(policy::claim_name_error(request.name));
  }
  if (auto existing = find_claim(places, request.name); existing) {
    return std::unexpected(fmt::format("claim {} exists already ({}); delete it first or pick "
                                       "another name",
                                       request.name, existing->path));
  } else if (existing.error().find("does not exist") == std::string::npos) {
    return std::unexpected(existing.error());
  }
  auto source = open_source(places, request, tools);
  if (!source) {
    return std::unexpected(source.error());
  }
  const std::string path =
      fmt::format("{}/{}.{}", places.claims, request.name, request.format == "raw" ? "raw" : "qcow2");
  auto fd = open_beneath(places.roots, path, O_RDWR | O_CREAT | O_EXCL, 0600);
  if (!fd) {
    return std::unexpected(fd.error().message);
  }
  auto filled = fill(fd->get(), request, *source, tools);
  if (filled) {
    filled = hand_over(fd->get(), tools);
  }
  if (!filled) {
    remove_made_file(places.roots, made_file(fd->get(), path));
    return std::unexpected(fmt::format("create claim {}: {}", request.name, filled.error()));
  }
  return ClaimFile{request.name, path, request.format, false};
}

std::expected<ClaimFile, std::string> delete_claim(const Places& places,
                                                   const std::string& name) {
  auto claim = find_claim(places, name);
  if (!claim) {
    return std::unexpected(claim.error());
  }
  if (claim->device) {
    return std::unexpected(fmt::format(
        "claim {} is the device {} from storage.claimDevices in qmd.yaml; qmd does not wipe "
        "devices: remove it from qmd.yaml instead",
        name, claim->path));
  }
  auto fd = open_beneath(places.roots, claim->path, O_PATH);
  if (!fd) {
    return std::unexpected(fd.error().message);
  }
  remove_made_file(places.roots, made_file(fd->get(), claim->path));
  return *claim;
}

std::expected<ClaimFile, std::string> resize_claim(const Places& places, const std::string& name,
                                                   std::uint64_t size, const Tools& tools) {
  auto claim = find_claim(places, name);
  if (!claim) {
    return std::unexpected(claim.error());
  }
  if (claim->device) {
    return std::unexpected(fmt::format(
        "claim {} is the device {} from storage.claimDevices; qmd does not resize devices: "
        "grow the device itself",
        name, claim->path));
  }
  auto fd = open_claim(places, *claim, O_RDWR);
  if (!fd) {
    return std::unexpected(fd.error());
  }
  auto now = image_virtual_size(fd->get(), claim->format);
  if (!now) {
    return std::unexpected(fmt::format("claim {}: {}", name, now.error()));
  }
  if (size < *now) {
    return std::unexpected(fmt::format(
        "claim {} is {} bytes; {} bytes would shrink the guest's disk: a resize only grows a "
        "claim",
        name, *now, size));
  }
  if (auto grown = grow_image(fd->get(), claim->format, size, tools); !grown) {
    return std::unexpected(fmt::format("resize claim {}: {}", name, grown.error()));
  }
  return *claim;
}

}  // namespace qmd::daemon::storage
