#include "daemon/runtime/volume_sources.hpp"

#include <fcntl.h>
#include <fmt/format.h>

#include <algorithm>

#include "daemon/storage/claim_files.hpp"
#include "daemon/storage/image_files.hpp"
#include "daemon/storage/image_size.hpp"

namespace qmd::daemon {

namespace {

using policy::VolumeKind;

bool is_claim(VolumeKind kind) {
  return kind == VolumeKind::persistent_volume_claim || kind == VolumeKind::data_volume ||
         kind == VolumeKind::ephemeral;
}

std::string field_of(std::size_t i, VolumeKind kind) {
  switch (kind) {
    case VolumeKind::persistent_volume_claim:
      return fmt::format("volumes[{}].persistentVolumeClaim.claimName", i);
    case VolumeKind::data_volume:
      return fmt::format("volumes[{}].dataVolume.name", i);
    case VolumeKind::ephemeral:
      return fmt::format("volumes[{}].ephemeral.persistentVolumeClaim.claimName", i);
    default:
      return fmt::format("volumes[{}].containerDisk.image", i);
  }
}

std::expected<policy::Volume::Resolved, std::string> resolve_claim(
    const storage::Places& places, const std::string& name) {
  auto claim = storage::find_claim(places, name);
  if (!claim) {
    return std::unexpected(claim.error());
  }
  auto fd = storage::open_claim(places, *claim, O_RDONLY);
  if (!fd) {
    return std::unexpected(fd.error());
  }
  auto size = storage::image_virtual_size(fd->get(), claim->format);
  if (!size) {
    return std::unexpected(fmt::format("claim {}: {}: {}", name, claim->path, size.error()));
  }
  return policy::Volume::Resolved{claim->path, claim->format, claim->device, *size};
}

std::expected<policy::Volume::Resolved, std::string> resolve_image(
    const storage::Places& places, const std::string& ref) {
  auto image = storage::find_image(places, ref);
  if (!image) {
    return std::unexpected(image.error());
  }
  return policy::Volume::Resolved{image->path, image->format, false, image->virtual_size};
}

}  // namespace

policy::SpecErrors resolve_volume_sources(policy::VmSpec& spec, const storage::Places& places) {
  policy::SpecErrors errors;
  for (std::size_t i = 0; i < spec.volumes.size(); ++i) {
    auto& volume = spec.volumes[i];
    const bool image = volume.kind == VolumeKind::container_disk;
    if (!image && !is_claim(volume.kind)) {
      continue;
    }
    auto found = image ? resolve_image(places, volume.claim_name)
                       : resolve_claim(places, volume.claim_name);
    if (!found) {
      errors.push_back(spec.source.error_at(
          field_of(i, volume.kind),
          fmt::format("VM {}, volume {}: {}", spec.name, volume.name, found.error())));
      continue;
    }
    volume.resolved = std::move(*found);
  }
  return errors;
}

bool uses_claim(const policy::VmSpec& spec, const std::string& claim) {
  return std::ranges::any_of(spec.volumes, [&](const policy::Volume& v) {
    return is_claim(v.kind) && v.claim_name == claim;
  });
}

bool uses_image(const policy::VmSpec& spec, const std::string& ref) {
  return std::ranges::any_of(spec.volumes, [&](const policy::Volume& v) {
    return v.kind == VolumeKind::container_disk && v.claim_name == ref;
  });
}

}  // namespace qmd::daemon
