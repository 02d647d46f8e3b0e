// persistentVolumeClaim, dataVolume and containerDisk volumes in the argv: what the daemon
// resolved is attached (a claim as itself, an image under a per-run overlay); unresolved
// (offline) the disk is left out with a note saying where qmd looks at start.
#include <doctest/doctest.h>

#include "cmdline/device_configurators.hpp"

using namespace qmd;

namespace {

const cmdline::VmPaths paths{"/run/qmd/vms/t", "/var/lib/qmd/vms/t"};

policy::VmSpec spec_with(policy::Volume volume) {
  policy::VmSpec s;
  s.name = "t";
  auto& d = s.domain.devices;
  d.autoattach_serial_console = false;
  d.autoattach_graphics_device = false;
  d.autoattach_mem_balloon = false;
  d.autoattach_input_device = false;
  d.autoattach_pod_interface = false;
  policy::DiskDevice disk;
  disk.name = volume.name;
  disk.bus = "sata";
  d.disks = {disk};
  s.volumes = {std::move(volume)};
  return s;
}

policy::Volume volume(policy::VolumeKind kind, std::string claim) {
  policy::Volume v;
  v.name = "root";
  v.kind = kind;
  v.claim_name = std::move(claim);
  return v;
}

cmdline::RenderResult disks(const policy::VmSpec& spec) {
  cmdline::DeviceFacts facts;
  facts.vcpus = 1;
  facts.q35 = true;
  cmdline::RenderResult out;
  cmdline::DisksConfigurator(facts, paths).configure(spec, out);
  return out;
}

}  // namespace

TEST_CASE("unresolved claims and images add nothing, with a note naming where qmd looks") {
  const auto claim = disks(spec_with(volume(policy::VolumeKind::persistent_volume_claim, "web")));
  CHECK(claim.argv.lines().empty());
  CHECK(claim.prepare.empty());
  CHECK(claim.warnings ==
        std::vector<std::string>{"volume \"root\": claim web is looked up by qmd when the VM "
                                 "starts (storage.claims in qmd.yaml); its disk is left out here"});
  const auto image =
      disks(spec_with(volume(policy::VolumeKind::container_disk, "quay.io/x/fedora:40")));
  CHECK(image.argv.lines().empty());
  CHECK(image.warnings ==
        std::vector<std::string>{"volume \"root\": image quay.io/x/fedora:40 is looked up by qmd "
                                 "when the VM starts (storage.images in qmd.yaml); its disk is "
                                 "left out here"});
}

TEST_CASE("a resolved claim is the disk itself, in its format; a device claim a host_device") {
  auto v = volume(policy::VolumeKind::data_volume, "web");
  v.resolved = policy::Volume::Resolved{"/srv/claims/web.qcow2", "qcow2", false, 1 << 30};
  const auto out = disks(spec_with(v));
  CHECK(out.argv.lines() ==
        std::vector<std::string>{
            R"(-blockdev {"driver":"file","filename":"/srv/claims/web.qcow2","node-name":"file-root",)"
            R"("read-only":false,"auto-read-only":true,"discard":"unmap"})",
            R"(-blockdev {"driver":"qcow2","file":"file-root","node-name":"fmt-root",)"
            R"("read-only":false,"discard":"unmap","backing":null})",
            "-device ide-hd,id=disk-root,bus=ide.0,drive=fmt-root"});
  CHECK(out.prepare.empty());
  v.resolved = policy::Volume::Resolved{"/dev/vg0/web", "raw", true, 1 << 30};
  CHECK(disks(spec_with(v)).argv.lines().front() ==
        R"(-blockdev {"driver":"host_device","filename":"/dev/vg0/web","node-name":"file-root",)"
        R"("read-only":false,"auto-read-only":true,"discard":"unmap"})");
}

TEST_CASE("a container disk runs on a qcow2 overlay in the run dir over the read-only image") {
  auto v = volume(policy::VolumeKind::container_disk, "quay.io/x/fedora:40");
  v.resolved = policy::Volume::Resolved{"/srv/images/quay.io_2fx_2ffedora_3a40.qcow2", "qcow2",
                                        false, 5u << 20};
  const auto out = disks(spec_with(v));
  CHECK(out.argv.lines() ==
        std::vector<std::string>{
            R"(-blockdev {"driver":"file","filename":"/srv/images/quay.io_2fx_2ffedora_3a40.qcow2",)"
            R"("node-name":"file-root.b","read-only":true,"auto-read-only":true})",
            R"(-blockdev {"driver":"qcow2","file":"file-root.b","node-name":"fmt-root.b",)"
            R"("read-only":true,"backing":null})",
            R"(-blockdev {"driver":"file","filename":"/run/qmd/vms/t/overlay-root.qcow2",)"
            R"("node-name":"file-root","read-only":false,"auto-read-only":true,"discard":"unmap"})",
            R"(-blockdev {"driver":"qcow2","file":"file-root","node-name":"fmt-root",)"
            R"("read-only":false,"discard":"unmap","backing":"fmt-root.b"})",
            "-device ide-hd,id=disk-root,bus=ide.0,drive=fmt-root"});
  REQUIRE(out.prepare.size() == 1);
  CHECK(out.prepare[0].kind == cmdline::FilePrep::Kind::create_image_if_missing);
  CHECK(out.prepare[0].path == "/run/qmd/vms/t/overlay-root.qcow2");
  CHECK(out.prepare[0].format == "qcow2");
  CHECK(out.prepare[0].size == 5u << 20);
}

TEST_CASE("an ephemeral volume runs on a qcow2 overlay in the run dir over the read-only claim") {
  auto v = volume(policy::VolumeKind::ephemeral, "web");
  v.resolved = policy::Volume::Resolved{"/srv/claims/web.raw", "raw", false, 4u << 20};
  const auto out = disks(spec_with(v));
  CHECK(out.argv.lines() ==
        std::vector<std::string>{
            R"(-blockdev {"driver":"file","filename":"/srv/claims/web.raw",)"
            R"("node-name":"file-root.b","read-only":true,"auto-read-only":true})",
            R"(-blockdev {"driver":"raw","file":"file-root.b","node-name":"fmt-root.b",)"
            R"("read-only":true})",
            R"(-blockdev {"driver":"file","filename":"/run/qmd/vms/t/overlay-root.qcow2",)"
            R"("node-name":"file-root","read-only":false,"auto-read-only":true,"discard":"unmap"})",
            R"(-blockdev {"driver":"qcow2","file":"file-root","node-name":"fmt-root",)"
            R"("read-only":false,"discard":"unmap","backing":"fmt-root.b"})",
            "-device ide-hd,id=disk-root,bus=ide.0,drive=fmt-root"});
  REQUIRE(out.prepare.size() == 1);
  CHECK(out.prepare[0].path == "/run/qmd/vms/t/overlay-root.qcow2");
  CHECK(out.prepare[0].size == 4u << 20);
  const auto unresolved = disks(spec_with(volume(policy::VolumeKind::ephemeral, "web")));
  CHECK(unresolved.argv.lines().empty());
  CHECK(unresolved.warnings ==
        std::vector<std::string>{"volume \"root\": claim web is looked up by qmd when the VM "
                                 "starts (storage.claims in qmd.yaml); its disk is left out here"});
}
