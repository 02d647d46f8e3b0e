#include <doctest/doctest.h>

#include "tests/unit/policy/test_validate_fixture.hpp"

using namespace qmd::policy;
using namespace qmd::policy::test;

namespace {
const std::string kVol = "spec.template.spec.volumes";

VmSpec with_volume(Volume v) {
  auto spec = minimal_vm();
  spec.domain.devices.disks.push_back(disk(v.name));
  spec.volumes.push_back(std::move(v));
  return apply_defaults(std::move(spec));
}

Volume volume(VolumeKind kind, std::string path = "/srv/vm/d.img") {
  auto v = file_volume("d", std::move(path));
  v.kind = kind;
  return v;
}
}  // namespace

TEST_CASE("host-local volumes with absolute paths pass") {
  auto host = volume(VolumeKind::host_disk);
  host.host_disk_type = "DiskOrCreate";
  host.capacity = 1024 * kMi;
  CHECK(errors_of(with_volume(host)) == "");
  auto file = volume(VolumeKind::file);
  file.format = "qcow2";
  CHECK(errors_of(with_volume(file)) == "");
  CHECK(errors_of(with_volume(volume(VolumeKind::block, "/dev/vg0/vm"))) == "");
  auto empty = volume(VolumeKind::empty_disk, "");
  empty.capacity = kGi;
  CHECK(errors_of(with_volume(empty)) == "");
}

TEST_CASE("hostDisk type, capacity and path") {
  auto host = volume(VolumeKind::host_disk, "disk.img");
  host.host_disk_type = "DiskOrCreate";
  CHECK(errors_of(with_volume(host)) ==
        kVol +
            "[0].hostDisk: type DiskOrCreate needs capacity, the size of the disk to create "
            "(<spec>)\n" +
            kVol + "[0].hostDisk.path: \"disk.img\" must be an absolute path (<spec>)\n");
  host.host_disk_type = "Directory";
  host.path = "/srv/d";
  CHECK(errors_of(with_volume(host)) ==
        kVol + "[0].hostDisk.type: \"Directory\" is not one of Disk, DiskOrCreate (<spec>)\n");
}

TEST_CASE("file formats are raw or qcow2; emptyDisk needs capacity") {
  auto file = volume(VolumeKind::file);
  file.format = "vmdk";
  CHECK(errors_of(with_volume(file)) ==
        kVol + "[0].file.format: \"vmdk\" is not one of raw, qcow2 (<spec>)\n");
  CHECK(errors_of(with_volume(volume(VolumeKind::empty_disk, ""))) ==
        kVol + "[0].emptyDisk: needs capacity, e.g. capacity: 1Gi (<spec>)\n");
}

TEST_CASE("cloud-init volumes validate: qmd builds their seed") {
  for (auto kind : {VolumeKind::cloud_init_no_cloud, VolumeKind::cloud_init_config_drive}) {
    auto v = volume(kind, "");
    v.cloud_init.user_data = "#cloud-config\n";
    CHECK(errors_of(with_volume(v)) == "");
  }
}
