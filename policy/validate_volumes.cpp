// Volume sources: host-local paths, and the claims and container disk images qmd keeps.
#include <fmt/format.h>

#include "policy/claims.hpp"

#include "policy/validate_rules.hpp"

namespace qmd::policy::rules {
namespace {


const char* source_key(VolumeKind kind) {
  switch (kind) {
    case VolumeKind::host_disk:
      return "hostDisk";
    case VolumeKind::file:
      return "file";
    case VolumeKind::block:
      return "block";
    case VolumeKind::persistent_volume_claim:
      return "persistentVolumeClaim";
    case VolumeKind::container_disk:
      return "containerDisk";
    case VolumeKind::data_volume:
      return "dataVolume";
    case VolumeKind::cloud_init_no_cloud:
      return "cloudInitNoCloud";
    case VolumeKind::cloud_init_config_drive:
      return "cloudInitConfigDrive";
    case VolumeKind::sysprep:
      return "sysprep";
    case VolumeKind::empty_disk:
      return "emptyDisk";
    case VolumeKind::ephemeral:
      return "ephemeral.persistentVolumeClaim";
  }
  return "";
}

// A claim or an image is looked up where the daemon keeps them (storage.claims, .images).
void validate_local_source(const VmSpec& spec, const std::string& src, const Volume& v,
                           SpecErrors& errors) {
  if (v.kind == VolumeKind::container_disk) {
    if (auto ref = parse_image_ref(v.claim_name); !ref) {
      errors.push_back(spec.source.error_at(src + ".image", ref.error()));
    }
    return;
  }
  if (!is_claim_name(v.claim_name)) {
    const char* key = v.kind == VolumeKind::data_volume ? ".name" : ".claimName";
    errors.push_back(spec.source.error_at(src + key, claim_name_error(v.claim_name)));
  }
}

void validate_volume(const VmSpec& spec, std::size_t j, const Volume& v, SpecErrors& errors) {
  const auto base = fmt::format("volumes[{}]", j);
  const auto src = fmt::format("{}.{}", base, source_key(v.kind));
  switch (v.kind) {
    case VolumeKind::persistent_volume_claim:
    case VolumeKind::data_volume:
    case VolumeKind::container_disk:
    case VolumeKind::ephemeral:
      validate_local_source(spec, src, v, errors);  // claims.cpp's names; qmd resolves them
      return;
    case VolumeKind::cloud_init_no_cloud:
    case VolumeKind::cloud_init_config_drive:
    case VolumeKind::sysprep:
      return;  // checked while parsing; qmd builds the seed (parse_cloud_init.cpp)
    case VolumeKind::empty_disk:
      if (!v.capacity) {
        errors.push_back(spec.source.error_at(src, "needs capacity, e.g. capacity: 1Gi"));
      }
      return;
    case VolumeKind::host_disk:
      check_one_of(spec, src + ".type", v.host_disk_type, {"Disk", "DiskOrCreate"}, errors);
      if (v.host_disk_type == "DiskOrCreate" && !v.capacity) {
        errors.push_back(spec.source.error_at(
            src, "type DiskOrCreate needs capacity, the size of the disk to create"));
      }
      break;
    case VolumeKind::file:
      check_one_of(spec, src + ".format", v.format, {"raw", "qcow2"}, errors);
      break;
    case VolumeKind::block:
      break;
  }
  if (!is_absolute_path(v.path)) {
    errors.push_back(spec.source.error_at(src + ".path",
                                          fmt::format("\"{}\" must be an absolute path", v.path)));
  }
}

}  // namespace

void validate_volumes(const VmSpec& spec, SpecErrors& errors) {
  for (std::size_t j = 0; j < spec.volumes.size(); ++j) {
    validate_volume(spec, j, spec.volumes[j], errors);
  }
}

}  // namespace qmd::policy::rules
