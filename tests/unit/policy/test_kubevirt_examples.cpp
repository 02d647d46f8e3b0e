// KubeVirt's own examples/ specs (tests/fixtures/kubevirt-examples, see its README), with preset
// files for the examples' instancetypes and preferences: each one either validates (with its
// cloud-init volumes swapped for hostDisks on a copy, where it has any; claims and container
// disks validate as written) or is refused with the exact errors, because it needs what one
// host does not have.
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

bool cluster_volume(VolumeKind kind) { return kind == VolumeKind::cloud_init_no_cloud; }

// What the seed image will be, until it lands: a local disk image.
bool swap_cluster_volumes(VmSpec& spec) {
  bool swapped = false;
  for (auto& v : spec.volumes) {
    if (cluster_volume(v.kind)) {
      v.kind = VolumeKind::host_disk;
      v.path = "/var/lib/qmd/images/" + v.name + ".img";
      v.host_disk_type = "Disk";
      v.claim_name.clear();
      swapped = true;
    }
  }
  return swapped;
}

struct Outcome {
  std::string errors;  // every error, one a line; empty: it validates
  bool swapped = false;
};

Outcome validate_example(const std::string& file, bool swap) {
  auto text = read_spec_file(kDir + "/" + file);
  REQUIRE_MESSAGE(text.has_value(), (text ? "" : to_string(text.error())));
  auto parsed = parse_spec_partial(*text, file);
  Outcome out;
  if (swap) {
    out.swapped = swap_cluster_volumes(parsed.spec);
  }
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

struct Example {
  const char* file;
  bool cluster_volumes;  // validates only with its cloud-init volumes swapped for hostDisks
};

// Every example that validates, and whether it needs the swap.
const Example kValidates[] = {
    {"vm-alpine-datavolume.yaml", false},
    {"vm-alpine-multipvc.yaml", false},
    {"vm-cirros-clarge-virtio.yaml", true},
    {"vm-cirros-cluster-csmall.yaml", true},
    {"vm-cirros-csmall.yaml", true},
    {"vm-cirros-sata.yaml", true},
    {"vm-cirros-with-sidecar-hook-configmap.yaml", true},
    {"vm-cirros.yaml", true},
    {"vm-priorityclass.yaml", true},
    {"vm-win2k19.yaml", false},
    {"vm-windows-clarge-windows.yaml", false},
    {"vmi-alpine-efi.yaml", false},
    {"vmi-arm.yaml", true},
    {"vmi-block-pvc.yaml", false},
    {"vmi-ephemeral.yaml", false},
    {"vmi-fedora-dedicated.yaml", true},
    {"vmi-fedora-isolated.yaml", true},
    {"vmi-fedora.yaml", true},
    {"vmi-host-disk.yaml", false},
    {"vmi-masquerade.yaml", true},
    {"vmi-migratable.yaml", false},
    {"vmi-multus-multiple-net.yaml", true},
    {"vmi-multus-ptp.yaml", true},
    {"vmi-nocloud.yaml", true},
    {"vmi-pvc.yaml", false},
    {"vmi-sata.yaml", false},
    {"vmi-secureboot.yaml", false},
    {"vmi-slirp.yaml", true},
    {"vmi-ssd-emulation.yaml", false},
    {"vmi-windows.yaml", false},
    {"vmi-with-sidecar-hook-configmap.yaml", true},
    {"vmi-with-sidecar-hook.yaml", true},
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

// Every example that is refused, with every error (its cluster volumes swapped).
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
  for (const auto& example : kValidates) {
    CAPTURE(example.file);
    const auto swapped = validate_example(example.file, true);
    CHECK(swapped.errors == "");
    CHECK(swapped.swapped == example.cluster_volumes);
    if (!example.cluster_volumes) {
      CHECK(validate_example(example.file, false).errors == "");
    }
  }
}

TEST_CASE("KubeVirt examples that need what one host lacks are refused, each naming the field") {
  for (const auto& [file, errors] : kRefused) {
    CAPTURE(file);
    CHECK(validate_example(file, true).errors == errors);
  }
}

TEST_CASE("every fixture is in one of the two tables") {
  std::set<std::string> listed;
  for (const auto& example : kValidates) {
    listed.insert(example.file);
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
  MESSAGE(fmt::format("{} examples: {} validate ({} unchanged, {} with cloud-init volumes "
                      "swapped for hostDisks), {} refused",
                      present.size(), std::size(kValidates),
                      std::ranges::count(kValidates, false, &Example::cluster_volumes),
                      std::ranges::count(kValidates, true, &Example::cluster_volumes),
                      std::size(kRefused)));
}
