#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "policy/parse.hpp"

using namespace qmd::policy;

namespace {

VmSpec parse_ok(const std::string& text) {
  auto spec = parse_spec(text, "vm.yaml");
  if (!spec) {
    FAIL_CHECK(to_string(spec.error()));
    return {};
  }
  return *spec;
}

constexpr const char* kMinimalVmi = R"(apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata:
  name: tiny
spec:
  domain: {}
)";

}  // namespace

TEST_CASE("a minimal VMI sets nothing it does not say") {
  const VmSpec spec = parse_ok(kMinimalVmi);
  CHECK(spec.api_version == "kubevirt.io/v1");
  CHECK(spec.kind == "VirtualMachineInstance");
  CHECK(spec.name == "tiny");
  CHECK(spec.namespace_.empty());
  CHECK(spec.labels.empty());
  CHECK(!spec.running);
  CHECK(!spec.instancetype);
  CHECK(!spec.domain.cpu.cores);
  CHECK(!spec.domain.memory.guest);
  CHECK(!spec.domain.machine.type);
  CHECK(spec.domain.firmware.bootloader == BootloaderKind::unset);
  CHECK(!spec.domain.firmware.kernel_boot);
  CHECK(!spec.domain.clock.utc_set);
  CHECK(!spec.domain.clock.rtc);
  CHECK(!spec.domain.features.acpi);
  CHECK(!spec.domain.features.hyperv);
  CHECK(spec.domain.devices.disks.empty());
  CHECK(!spec.domain.devices.tpm);
  CHECK(!spec.domain.devices.rng);
  CHECK(spec.domain.launch_security.kind == LaunchSecurityKind::none);
  CHECK(spec.volumes.empty());
  CHECK(spec.networks.empty());
  CHECK(!spec.termination_grace_period_seconds);
  CHECK(spec.source.file() == "vm.yaml");
  CHECK(spec.source.template_prefix() == "spec");
  CHECK(spec.source.find("spec.domain").line == 6);
}

TEST_CASE("the VirtualMachine wrapper: run strategy, presets, template metadata") {
  const VmSpec spec = parse_ok(R"(apiVersion: kubevirt.io/v1alpha3
kind: VirtualMachine
metadata:
  name: web-1
  namespace: prod
  labels: {app: web, tier: "1"}
  annotations:
    note: hello
spec:
  running: true
  instancetype:
    name: u1.medium
    kind: VirtualMachineClusterInstancetype
  preference:
    name: windows.11
  template:
    metadata:
      labels:
        app: ignored-because-metadata-says-web
        kubevirt.io/vm: web-1
    spec:
      domain: {}
      hostname: web
      terminationGracePeriodSeconds: 30
)");
  CHECK(spec.api_version == "kubevirt.io/v1alpha3");
  CHECK(spec.namespace_ == "prod");
  CHECK(spec.labels == std::map<std::string, std::string>{
                           {"app", "web"}, {"tier", "1"}, {"kubevirt.io/vm", "web-1"}});
  CHECK(spec.annotations == std::map<std::string, std::string>{{"note", "hello"}});
  CHECK(spec.running == true);
  CHECK(!spec.run_strategy);  // running and runStrategy exclude each other
  REQUIRE(spec.instancetype);
  CHECK(spec.instancetype->name == "u1.medium");
  CHECK(spec.instancetype->kind == "VirtualMachineClusterInstancetype");
  REQUIRE(spec.preference);
  CHECK(spec.preference->name == "windows.11");
  CHECK(!spec.preference->kind);
  CHECK(spec.hostname == "web");
  CHECK(spec.termination_grace_period_seconds == 30);
  CHECK(spec.source.template_prefix() == "spec.template.spec");
}

TEST_CASE("a VMI written as JSON parses with positions") {
  const std::string json = R"({
  "apiVersion": "kubevirt.io/v1",
  "kind": "VirtualMachineInstance",
  "metadata": {"name": "j1"},
  "spec": {
    "domain": {"cpu": {"cores": 2}, "memory": {"guest": "1Gi"},
               "devices": {"disks": [{"name": "root", "disk": {"bus": "virtio"}}]}},
    "volumes": [{"name": "root", "file": {"path": "/img/root.qcow2", "format": "qcow2"}}]
  }
})";
  const VmSpec spec = parse_ok(json);
  CHECK(spec.domain.cpu.cores == 2u);
  CHECK(spec.domain.memory.guest == (1ULL << 30));
  REQUIRE(spec.domain.devices.disks.size() == 1);
  CHECK(spec.domain.devices.disks[0].bus == "virtio");
  REQUIRE(spec.volumes.size() == 1);
  CHECK(spec.volumes[0].kind == VolumeKind::file);
  CHECK(spec.volumes[0].path == "/img/root.qcow2");
  CHECK(spec.volumes[0].format == "qcow2");
  // Keys are placed at their opening quote, list items at their '{'.
  CHECK(spec.source.find("spec.domain.cpu.cores").line == 6);
  CHECK(spec.source.find("spec.domain.cpu.cores").column == 24);
  CHECK(spec.source.find("spec.domain.devices.disks[0]").column == 38);
  CHECK(spec.source.find("spec.volumes[0].file.path").line == 8);

  auto bad = parse_spec(R"({"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance",
 "metadata": {"name": "j1"}, "spec": {"domain": {"cpu": {"cores": "two"}}}})",
                        "vm.json");
  REQUIRE(!bad);
  CHECK(to_string(bad.error()) ==
        "spec.domain.cpu.cores: expected an integer, got \"two\" (a quoted string; remove the "
        "quotes) (vm.json:2:67)\n");
}

TEST_CASE("cluster-only volume sources parse into their kind") {
  const VmSpec spec = parse_ok(R"(apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata: {name: v}
spec:
  domain: {}
  volumes:
  - name: a
    persistentVolumeClaim: {claimName: data, readOnly: true}
  - name: b
    containerDisk: {image: quay.io/containerdisks/fedora:39}
  - name: c
    dataVolume: {name: dv1}
  - name: d
    cloudInitNoCloud:
      userData: |
        #cloud-config
  - name: e
    emptyDisk: {capacity: 2Gi}
  - name: f
    block: {path: /dev/vg0/lv1}
)");
  REQUIRE(spec.volumes.size() == 6);
  CHECK(spec.volumes[0].kind == VolumeKind::persistent_volume_claim);
  CHECK(spec.volumes[0].claim_name == "data");
  CHECK(spec.volumes[1].kind == VolumeKind::container_disk);
  CHECK(spec.volumes[1].claim_name == "quay.io/containerdisks/fedora:39");
  CHECK(spec.volumes[2].kind == VolumeKind::data_volume);
  CHECK(spec.volumes[2].claim_name == "dv1");
  CHECK(spec.volumes[3].kind == VolumeKind::cloud_init_no_cloud);
  CHECK(spec.volumes[3].cloud_init.user_data == "#cloud-config\n");
  CHECK(spec.volumes[4].kind == VolumeKind::empty_disk);
  CHECK(spec.volumes[4].capacity == (2ULL << 30));
  CHECK(spec.volumes[5].kind == VolumeKind::block);
  CHECK(spec.volumes[5].path == "/dev/vg0/lv1");
}

TEST_CASE("aliases and spellings KubeVirt users write") {
  const VmSpec spec = parse_ok(R"(apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata: {name: alias}
spec:
  domain:
    clock:
      timezone: Europe/Berlin
      timer:
        hpet: {enabled: false}
        kvm: {}
    launchSecurity:
      sev:
        policy: {encryptedState: true}
    devices:
      disks:
      - name: nokind
      interfaces:
      - {name: a, slirp: {}}
      - {name: b, tap: {name: tap0}}
      rng:
)");
  CHECK(spec.domain.clock.timezone == "Europe/Berlin");
  CHECK(!spec.domain.clock.utc_set);
  REQUIRE(spec.domain.clock.hpet);
  CHECK(spec.domain.clock.hpet->present == false);
  REQUIRE(spec.domain.clock.kvm);
  CHECK(!spec.domain.clock.kvm->present);
  CHECK(spec.domain.launch_security.kind == LaunchSecurityKind::sev);
  CHECK(spec.domain.launch_security.sev_policy == 0x5u);
  REQUIRE(spec.domain.devices.disks.size() == 1);
  CHECK(spec.domain.devices.disks[0].kind == DiskKind::disk);  // KubeVirt's default target
  REQUIRE(spec.domain.devices.interfaces.size() == 2);
  CHECK(spec.domain.devices.interfaces[0].binding == "user");
  CHECK(spec.domain.devices.interfaces[1].binding == "tap");
  CHECK(spec.domain.devices.interfaces[1].tap_name == "tap0");
  CHECK(spec.domain.devices.rng == true);
}

TEST_CASE("parse_spec_file names the path it could not use") {
  auto missing = parse_spec_file("/nonexistent/vm.yaml");
  REQUIRE(!missing);
  CHECK(to_string(missing.error()) ==
        "cannot open the spec file: No such file or directory (/nonexistent/vm.yaml)\n");
  auto dir = parse_spec_file("/");
  REQUIRE(!dir);
  CHECK(to_string(dir.error()) == "the spec path is a directory, not a file (/)\n");
}

TEST_CASE("parse_spec_file reads the examples") {
  for (const char* name : {"linux-small", "win11-desktop", "win11-preset", "win2k22-perf"}) {
    const std::string path = std::string(QMD_SOURCE_DIR) + "/examples/" + name + ".yaml";
    CAPTURE(path);
    auto spec = parse_spec_file(path);
    CHECK_MESSAGE(spec.has_value(), (spec ? "" : to_string(spec.error())));
    if (spec) {
      CHECK(spec->source.file() == path);
      CHECK(spec->name == name);
    }
  }
}

TEST_CASE("parse_spec_file refuses files over 1 MiB") {
  const std::string path = std::string(QMD_BUILD_DIR) + "/test_parse_big.yaml";
  {
    std::ofstream out(path);
    out << "# " << std::string(1024 * 1024, 'x') << "\n";
  }
  auto big = parse_spec_file(path);
  std::filesystem::remove(path);
  REQUIRE(!big);
  CHECK(to_string(big.error()) == "the spec file is larger than 1 MiB; a VM spec is a few "
                                  "kilobytes: check the path (" + path + ")\n");
}
