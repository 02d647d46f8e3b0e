// The seed plan of a cloud-init volume: label, files, contents and where the image goes; and
// the disk that reads it. Pure: no image is built here (tests/unit/daemon/test_seed_iso.cpp).
#include <doctest/doctest.h>

#include "cmdline/device_configurators.hpp"
#include "cmdline/seed.hpp"

using namespace qmd;
using cmdline::SeedFile;
using cmdline::SeedPlan;

namespace {

const cmdline::VmPaths kPaths{"/run/qmd/vms/web", "/var/lib/qmd/vms/web"};

policy::VmSpec spec_with(policy::Volume volume, policy::DiskKind kind) {
  policy::VmSpec s;
  s.name = "web";
  s.domain.firmware.uuid = "123e4567-e89b-12d3-a456-426614174000";
  auto& d = s.domain.devices;
  d.autoattach_serial_console = false;
  d.autoattach_graphics_device = false;
  d.autoattach_mem_balloon = false;
  d.autoattach_pod_interface = false;
  policy::DiskDevice disk;
  disk.name = volume.name;
  disk.kind = kind;
  disk.bus = kind == policy::DiskKind::cdrom ? "sata" : "virtio";
  d.disks.push_back(disk);
  s.volumes.push_back(std::move(volume));
  return s;
}

policy::Volume cloud_init(policy::VolumeKind kind) {
  policy::Volume v;
  v.name = "ci";
  v.kind = kind;
  return v;
}

SeedFile fixed(std::string path, std::string content) {
  SeedFile f;
  f.path = std::move(path);
  f.content = std::move(content);
  return f;
}

SeedFile secret(std::string path, std::string name, std::vector<std::string> keys) {
  SeedFile f;
  f.path = std::move(path);
  f.secret = std::move(name);
  f.keys = std::move(keys);
  return f;
}

}  // namespace

TEST_CASE("seed: a VM without cloud-init has no seed") {
  policy::Volume file;
  file.name = "root";
  file.path = "/srv/root.img";
  auto spec = spec_with(file, policy::DiskKind::disk);
  cmdline::RenderResult out;
  cmdline::DisksConfigurator(cmdline::DeviceFacts{}, kPaths).configure(spec, out);
  CHECK(out.seeds.empty());
}

TEST_CASE("seed: NoCloud is cidata with meta-data, user-data and network-config") {
  auto v = cloud_init(policy::VolumeKind::cloud_init_no_cloud);
  v.cloud_init.user_data = "#cloud-config\n";
  v.cloud_init.network_data = "version: 2\n";
  auto spec = spec_with(v, policy::DiskKind::cdrom);
  spec.hostname = "www";
  SeedPlan want;
  want.volume = "ci";
  want.source = "cloudInitNoCloud";
  want.path = "/run/qmd/vms/web/seed-ci.iso";
  want.label = "cidata";
  want.files = {fixed("meta-data", "instance-id: 123e4567-e89b-12d3-a456-426614174000\n"
                                   "local-hostname: www\n"),
                fixed("user-data", "#cloud-config\n"),
                fixed("network-config", "version: 2\n")};
  CHECK(cmdline::cloud_init_seed(spec, spec.volumes[0], kPaths) == want);
}

TEST_CASE("seed: ConfigDrive is config-2 with openstack/latest, from secrets") {
  auto v = cloud_init(policy::VolumeKind::cloud_init_config_drive);
  v.cloud_init.user_data_secret = "web-init";
  v.cloud_init.network_data_secret = "web-net";
  auto spec = spec_with(v, policy::DiskKind::disk);
  SeedPlan want;
  want.volume = "ci";
  want.source = "cloudInitConfigDrive";
  want.path = "/run/qmd/vms/web/seed-ci.iso";
  want.label = "config-2";
  want.files = {
      fixed("openstack/latest/meta_data.json",
            "{\"uuid\": \"123e4567-e89b-12d3-a456-426614174000\", \"hostname\": \"web\", "
            "\"name\": \"web\"}\n"),
      secret("openstack/latest/user_data", "web-init", {"userdata", "userData"}),
      secret("openstack/latest/network_data.json", "web-net", {"networkdata", "networkData"})};
  CHECK(cmdline::cloud_init_seed(spec, spec.volumes[0], kPaths) == want);
}

TEST_CASE("seed: network data alone still gets an empty user-data; no uuid means the name") {
  auto v = cloud_init(policy::VolumeKind::cloud_init_no_cloud);
  v.cloud_init.network_data = "version: 1\n";
  auto spec = spec_with(v, policy::DiskKind::disk);
  spec.domain.firmware.uuid.reset();
  const auto plan = cmdline::cloud_init_seed(spec, spec.volumes[0], kPaths);
  REQUIRE(plan.files.size() == 3);
  CHECK(plan.files[0] == fixed("meta-data", "instance-id: web\nlocal-hostname: web\n"));
  CHECK(plan.files[1] == fixed("user-data", ""));
}

TEST_CASE("seed: the disk reads the image the daemon builds, as the spec's disk says") {
  auto v = cloud_init(policy::VolumeKind::cloud_init_no_cloud);
  v.cloud_init.user_data = "#cloud-config\n";
  for (auto kind : {policy::DiskKind::cdrom, policy::DiskKind::disk}) {
    CAPTURE(static_cast<int>(kind));
    auto spec = spec_with(v, kind);
    cmdline::RenderResult out;
    cmdline::DeviceFacts facts;
    cmdline::DisksConfigurator(facts, kPaths).configure(spec, out);
    REQUIRE(out.seeds.size() == 1);
    CHECK(out.seeds[0].path == "/run/qmd/vms/web/seed-ci.iso");
    CHECK(out.prepare.empty());
    CHECK(out.warnings.empty());
    const auto lines = out.argv.lines();
    REQUIRE(lines.size() == 3);
    const bool cdrom = kind == policy::DiskKind::cdrom;
    CHECK(lines[0] ==
          std::string("-blockdev {\"driver\":\"file\",\"filename\":\"/run/qmd/vms/web/seed-ci.iso\","
                      "\"node-name\":\"file-ci\",") +
              (cdrom ? "\"read-only\":true," : "\"read-only\":false,") + "\"auto-read-only\":true," +
              "\"discard\":\"unmap\"}");
    CHECK(lines[2] == (cdrom ? "-device ide-cd,id=disk-ci,bus=ide.0,drive=fmt-ci"
                             : "-device virtio-blk-pci,id=disk-ci,bus=pci.2,addr=0x0,"
                               "drive=fmt-ci,iothread=iothread-shared"));
  }
}

TEST_CASE("seed: sysprep is a CD labelled sysprep with the answer files of its secret") {
  policy::Volume v;
  v.name = "answers";
  v.kind = policy::VolumeKind::sysprep;
  v.sysprep_secret = "win-answers";
  auto autounattend = secret("autounattend.xml", "win-answers",
                             {"autounattend.xml", "Autounattend.xml"});
  autounattend.optional = true;
  auto unattend = secret("unattend.xml", "win-answers", {"unattend.xml", "Unattend.xml"});
  unattend.optional = true;
  unattend.whole_file = false;
  SeedPlan want;
  want.volume = "answers";
  want.source = "sysprep";
  want.path = "/run/qmd/vms/web/seed-answers.iso";
  want.label = "sysprep";
  want.needs_one = true;
  want.files = {autounattend, unattend};
  CHECK(cmdline::sysprep_seed(v, kPaths) == want);

  auto spec = spec_with(v, policy::DiskKind::cdrom);
  cmdline::RenderResult out;
  cmdline::DisksConfigurator(cmdline::DeviceFacts{}, kPaths).configure(spec, out);
  REQUIRE(out.seeds.size() == 1);
  CHECK(out.seeds[0] == want);
  CHECK(out.argv.lines().back() == "-device ide-cd,id=disk-answers,bus=ide.0,drive=fmt-answers");
}
