// KubeVirt's own examples/ specs (tests/fixtures/kubevirt-examples, see its README), with preset
// files for the examples' instancetypes and preferences: each one either validates as written
// (claims, container disks and cloud-init included) or is refused with the exact errors,
// because it needs what one host does not have.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <string>

#include "policy/all_errors.hpp"

using namespace qmd::policy;

namespace {

const std::string kDir = std::string(QMD_SOURCE_DIR) + "/tests/fixtures/kubevirt-examples";

bool cloud_init_volume(VolumeKind kind) {
  return kind == VolumeKind::cloud_init_no_cloud || kind == VolumeKind::cloud_init_config_drive;
}

struct Outcome {
  std::string errors;  // every error, one a line; empty: it validates
  bool cloud_init = false;  // it has a cloud-init volume
};

Outcome validate_example(const std::string& file) {
  auto text = read_spec_file(kDir + "/" + file);
  REQUIRE_MESSAGE(text.has_value(), (text ? "" : to_string(text.error())));
  auto parsed = parse_spec_partial(*text, file);
  Outcome out;
  out.cloud_init = std::ranges::any_of(parsed.spec.volumes,
                                       [](const Volume& v) { return cloud_init_volume(v.kind); });
  static const PresetCatalog catalog = [] {
    auto c = PresetCatalog::load(kDir + "/presets");
    REQUIRE_MESSAGE(c.has_value(), (c ? "" : to_string(c.error())));
    return *c;
  }();
  // qmd.yaml's bridges: the multus networks the examples name, as an operator maps them.
  RunPolicy policy;
  policy.bridges = {{"ptp-conf", "br-ptp"}, {"ovs-net", "br-ovs"}};
  policy.state_dir = "/var/lib/qmd/vms/" + parsed.spec.name;
  out.errors = to_string(all_errors(parsed, catalog, policy));
  return out;
}

// Every example that validates.
const char* const kValidates[] = {
    "vm-alpine-datavolume.yaml",
    "vm-alpine-multipvc.yaml",
    "vm-cirros-clarge-virtio.yaml",
    "vm-cirros-cluster-csmall.yaml",
    "vm-cirros-csmall.yaml",
    "vm-cirros-sata.yaml",
    "vm-cirros-with-sidecar-hook-configmap.yaml",
    "vm-cirros.yaml",
    "vm-priorityclass.yaml",
    "vm-win2k19.yaml",
    "vm-windows-clarge-windows.yaml",
    "vmi-alpine-efi.yaml",
    "vmi-arm.yaml",
    "vmi-block-pvc.yaml",
    "vmi-ephemeral.yaml",
    "vmi-fedora-dedicated.yaml",
    "vmi-fedora-isolated.yaml",
    "vmi-fedora.yaml",
    "vmi-host-disk.yaml",
    "vmi-masquerade.yaml",
    "vmi-migratable.yaml",
    "vmi-multus-multiple-net.yaml",
    "vmi-multus-ptp.yaml",
    "vmi-nocloud.yaml",
    "vmi-pvc.yaml",
    "vmi-sata.yaml",
    "vmi-secureboot.yaml",
    "vmi-slirp.yaml",
    "vmi-ssd-emulation.yaml",
    "vmi-windows.yaml",
    "vmi-with-sidecar-hook-configmap.yaml",
    "vmi-with-sidecar-hook.yaml",
};

const std::string kGpus =
    "GPUs (by device plugin or DRA resource claim) are not available on one host: qmd passes "
    "no host GPU or vGPU to a guest; remove devices.gpus";
const std::string kHostDevices =
    "host devices (PCI or USB, by device plugin or DRA resource claim) are not available on "
    "one host: qmd passes no host device to a guest; remove devices.hostDevices";

std::string clarge_conflicts(const std::string& file, int cpu_line, int memory_line) {
  std::string out;
  for (int i = 0; const char* field : {"cores", "sockets", "threads"}) {
    out += fmt::format("spec.template.spec.domain.cpu.{}: conflicts with instancetype \"clarge\" "
                       "(spec.instancetype.name), which sets the vCPUs; remove this field or the "
                       "instancetype ({}:{}:11)\n",
                       field, file, cpu_line + i++);
  }
  return out + fmt::format("spec.template.spec.domain.memory.guest: conflicts with instancetype "
                           "\"clarge\" (spec.instancetype.name), which sets the guest memory; "
                           "remove this field or the instancetype ({}:{}:11)\n",
                           file, memory_line);
}

// Every example that is refused, with every error.
const std::pair<const char*, std::string> kRefused[] = {
    {"vmi-gpu.yaml", "spec.domain.devices.gpus: " + kGpus + " (vmi-gpu.yaml:18:7)\n"},
    {"vmi-dra-pgpu.yaml", "spec.domain.devices.gpus: " + kGpus + " (vmi-dra-pgpu.yaml:18:7)\n"},
    {"vm-dra-pgpu.yaml",
     "spec.template.spec.domain.devices.gpus: " + kGpus + " (vm-dra-pgpu.yaml:29:11)\n"},
    {"vmi-usb.yaml", "spec.domain.devices.hostDevices: " + kHostDevices + " (vmi-usb.yaml:22:7)\n"},
    {"vmi-resource-claim.yaml",
     "spec.domain.devices.hostDevices: " + kHostDevices + " (vmi-resource-claim.yaml:12:7)\n"},
    {"vmi-sriov.yaml",
     "spec.domain.devices.interfaces[1].sriov: SR-IOV is not available on one host: qmd passes "
     "no virtual function to a guest; use bridge with a host bridge (vmi-sriov.yaml:22:9)\n"},
    {"vmi-kernel-boot.yaml",
     "spec.domain.firmware.kernelBoot.container: a kernel from a container image is not "
     "available on one host: qmd pulls no images; give local files as kernelBoot.kernelPath and "
     "kernelBoot.initrdPath (vmi-kernel-boot.yaml:13:9)\n"},
    {"vmi-macvtap.yaml",
     "spec.domain.devices.interfaces[0].macvtap: macvtap is not supported by qmd: use bridge "
     "with a host bridge (a multus network named under bridges: in qmd.yaml) "
     "(vmi-macvtap.yaml:19:9)\n"},
    // KubeVirt refuses these too: an instancetype conflicts with any cpu topology or guest
    // memory in the VM (its validateCPU / validateMemory), whatever the values.
    {"vm-cirros-clarge.yaml", clarge_conflicts("vm-cirros-clarge.yaml", 20, 31)},
    {"vm-cirros-clarge-windows.yaml", clarge_conflicts("vm-cirros-clarge-windows.yaml", 23, 33)},
};

}  // namespace

TEST_CASE("every KubeVirt example that needs only one host validates") {
  std::size_t with_cloud_init = 0;
  for (const char* file : kValidates) {
    CAPTURE(file);
    const auto outcome = validate_example(file);
    CHECK(outcome.errors == "");
    with_cloud_init += outcome.cloud_init ? 1 : 0;
  }
  CHECK(with_cloud_init == 18);  // cloudInitNoCloud; no example uses ConfigDrive
}

TEST_CASE("KubeVirt examples that need what one host lacks are refused, each naming the field") {
  for (const auto& [file, errors] : kRefused) {
    CAPTURE(file);
    CHECK(validate_example(file).errors == errors);
  }
}

TEST_CASE("every fixture is in one of the two tables") {
  std::set<std::string> listed;
  for (const char* file : kValidates) {
    listed.insert(file);
  }
  for (const auto& [file, errors] : kRefused) {
    CHECK(listed.insert(file).second);
  }
  std::set<std::string> present;
  for (const auto& entry : std::filesystem::directory_iterator(kDir)) {
    if (entry.path().extension() == ".yaml") {
      present.insert(entry.path().filename().string());
    }
  }
  CHECK(present == listed);
  MESSAGE(fmt::format("{} examples: {} validate as written, {} refused", present.size(),
                      std::size(kValidates), std::size(kRefused)));
}
