#include "daemon/runtime/spec_paths.hpp"

#include <fcntl.h>
#include <fmt/format.h>

#include <filesystem>

#include "daemon/store/storage_roots.hpp"

namespace qmd::daemon {

namespace {

using Why = PathRefusal::Why;

std::string_view source_key(policy::VolumeKind kind) {
  switch (kind) {
    case policy::VolumeKind::host_disk:
      return "hostDisk";
    case policy::VolumeKind::file:
      return "file";
    case policy::VolumeKind::block:
      return "block";
    default:
      return "";
  }
}

// Whether the refusal still lets the path be used later, or at this start.
bool acceptable(const PathRefusal& refusal, const UserPath& user, PathCheck when) {
  if (refusal.why != Why::missing) {
    return false;
  }
  return when == PathCheck::defined || user.created_by_qmd;
}

}  // namespace

std::vector<UserPath> user_paths(const policy::VmSpec& spec) {
  std::vector<UserPath> out;
  for (std::size_t i = 0; i < spec.volumes.size(); ++i) {
    const auto& volume = spec.volumes[i];
    const auto key = source_key(volume.kind);
    if (key.empty()) {
      continue;
    }
    out.push_back({fmt::format("volumes[{}].{}.path", i, key), volume.path,
                   volume.kind == policy::VolumeKind::host_disk &&
                       volume.host_disk_type.value_or("Disk") == "DiskOrCreate"});
  }
  if (const auto& kb = spec.domain.firmware.kernel_boot) {
    out.push_back({"domain.firmware.kernelBoot.kernelPath", kb->kernel_path, false});
    if (!kb->initrd_path.empty()) {
      out.push_back({"domain.firmware.kernelBoot.initrdPath", kb->initrd_path, false});
    }
  }
  return out;
}

policy::SpecErrors check_user_paths(const policy::VmSpec& spec,
                                    std::span<const std::string> roots, PathCheck when) {
  policy::SpecErrors errors;
  for (const auto& user : user_paths(spec)) {
    auto opened = open_beneath(roots, user.path, O_PATH);
    if (opened || acceptable(opened.error(), user, when)) {
      if (!opened && when == PathCheck::starting) {
        // qmd will create it: its directory must be there, beneath the root, link-free.
        const auto dir = std::filesystem::path(user.path).parent_path().string();
        auto parent = open_beneath(roots, dir, O_PATH | O_DIRECTORY);
        if (!parent && parent.error().why != Why::is_root) {
          errors.push_back(spec.source.error_at(
              user.field, fmt::format("the directory of {}: {}", user.path,
                                      parent.error().message)));
        }
      }
      continue;
    }
    errors.push_back(spec.source.error_at(user.field, opened.error().message));
  }
  return errors;
}

}  // namespace qmd::daemon
