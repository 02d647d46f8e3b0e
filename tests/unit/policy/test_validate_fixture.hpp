#pragma once
// Shared by the validation tests: a small valid VM, and its errors as one string.
#include "policy/validate.hpp"

namespace qmd::policy::test {

constexpr std::uint64_t kMi = 1024 * 1024;
constexpr std::uint64_t kGi = 1024 * kMi;

// One socket, 1Gi, a pod network with a masquerade NIC: valid once defaults are applied.
inline VmSpec minimal_vm() {
  VmSpec spec;
  spec.name = "vm1";
  spec.domain.memory.guest = kGi;
  return apply_defaults(std::move(spec));
}

inline DiskDevice disk(std::string name, DiskKind kind = DiskKind::disk) {
  DiskDevice d;
  d.name = std::move(name);
  d.kind = kind;
  return d;
}

inline Volume file_volume(std::string name, std::string path = "/var/lib/qmd/disk.qcow2") {
  Volume v;
  v.name = std::move(name);
  v.kind = VolumeKind::file;
  v.path = std::move(path);
  return v;
}

// A VM with one virtio disk backed by a file.
inline VmSpec vm_with_disk() {
  auto spec = minimal_vm();
  spec.domain.devices.disks.push_back(disk("root"));
  spec.volumes.push_back(file_volume("root"));
  return apply_defaults(std::move(spec));
}

inline std::string errors_of(const VmSpec& spec, const RunPolicy& policy = {}) {
  return to_string(validate_spec(spec, policy));
}

}  // namespace qmd::policy::test
