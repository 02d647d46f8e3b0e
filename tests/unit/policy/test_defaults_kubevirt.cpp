// What KubeVirt adds to a spec before libvirt sees it, through the whole path a spec takes
// (parse_spec -> apply_presets -> apply_defaults -> validate_spec): each row's exact warnings
// and errors, with file:line:column.
#include <doctest/doctest.h>

#include <string>

#include "policy/defaults_kubevirt.hpp"
#include "policy/parse.hpp"
#include "policy/presets.hpp"
#include "policy/validate.hpp"

using namespace qmd::policy;

namespace {

// Lines 1-5; rows are appended from line 6 at the domain's indent (4); `  volumes:` and
// `  networks:` (indent 2) continue the VMI spec.
constexpr const char* kHead = R"(apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata: {name: t}
spec:
  domain:
)";

constexpr std::uint64_t kMi = 1024 * 1024;

// The spec after presets and defaults; parse and preset errors fail the test.
VmSpec expand(const std::string& text) {
  auto parsed = parse_spec(text, "vm.yaml");
  REQUIRE_MESSAGE(parsed.has_value(), (parsed ? "" : to_string(parsed.error())));
  static const PresetCatalog catalog = *PresetCatalog::load();
  auto expanded = apply_presets(*parsed, catalog);
  REQUIRE_MESSAGE(expanded.has_value(), (expanded ? "" : to_string(expanded.error())));
  return apply_defaults(*expanded);
}

// "warning: ..." lines, then "error: ..." lines.
std::string report(const std::string& row) {
  const auto spec = expand(kHead + row);
  std::string out;
  for (const auto& w : spec.warnings) {
    out += "warning: " + w.to_string() + "\n";
  }
  RunPolicy policy;
  for (const auto& e : validate_spec(spec, policy)) {
    out += "error: " + e.to_string() + "\n";
  }
  return out;
}

}  // namespace

TEST_CASE("a spec KubeVirt would not change gets no warnings") {
  CHECK(report("    memory: {guest: 1Gi}\n") == "");
}

TEST_CASE("guest memory that is not a whole MiB is aligned up, with a warning") {
  CHECK(report("    memory: {guest: 1024M}\n") ==
        "warning: spec.domain.memory.guest: 1024000000 bytes is not a whole number of MiB; the "
        "guest gets 977Mi (1024458752 bytes), aligned up to 1Mi as libvirt does (vm.yaml:6:14)\n");
  const auto spec = expand(std::string(kHead) + "    memory: {guest: 219100Ki}\n");
  CHECK(spec.domain.memory.guest == 214 * kMi);
  CHECK(spec.domain.memory.guest_unaligned == 219100 * 1024);
  // From the resources, the warning names the field the figure came from.
  CHECK(report("    resources: {requests: {memory: 219100Ki}}\n") ==
        "warning: spec.domain.resources.requests.memory: 224358400 bytes is not a whole number "
        "of MiB; the guest gets 214Mi (224395264 bytes), aligned up to 1Mi as libvirt does "
        "(vm.yaml:6:28)\n");
  CHECK(expand(std::string(kHead) + "    memory: {guest: 1Gi}\n").domain.memory.guest_unaligned ==
        std::nullopt);
}

TEST_CASE("hugepage and maxGuest rules apply to the aligned figure and name it") {
  CHECK(report("    memory: {guest: 1024M, hugepages: {pageSize: 2Mi}}\n") ==
        "warning: spec.domain.memory.guest: 1024000000 bytes is not a whole number of MiB; the "
        "guest gets 977Mi (1024458752 bytes), aligned up to 1Mi as libvirt does (vm.yaml:6:14)\n"
        "error: spec.domain.memory.hugepages.pageSize: 2Mi pages do not divide the guest memory "
        "977Mi (1024000000 bytes aligned up to 1Mi); make domain.memory.guest a multiple of 2Mi "
        "(vm.yaml:6:40)\n");
  // 1025M aligns to 978Mi: 2Mi pages divide it.
  CHECK(report("    memory: {guest: 1025M, hugepages: {pageSize: 2Mi}}\n") ==
        "warning: spec.domain.memory.guest: 1025000000 bytes is not a whole number of MiB; the "
        "guest gets 978Mi (1025507328 bytes), aligned up to 1Mi as libvirt does (vm.yaml:6:14)\n");
  CHECK(report("    memory: {guest: 1073741000, maxGuest: 1Gi}\n") ==
        "warning: spec.domain.memory.guest: 1073741000 bytes is not a whole number of MiB; the "
        "guest gets 1024Mi (1073741824 bytes), aligned up to 1Mi as libvirt does "
        "(vm.yaml:6:14)\n"
        "error: spec.domain.memory.maxGuest: is 1Gi; it must be larger than the guest memory 1Gi "
        "(1073741000 bytes aligned up to 1Mi) (vm.yaml:6:33)\n");
}

TEST_CASE("a volume without a disk gets a disk of its name with default settings") {
  const auto spec = expand(std::string(kHead) +
                           "    memory: {guest: 1Gi}\n"
                           "  volumes: [{name: data, file: {path: /srv/d.img}}]\n");
  REQUIRE(spec.domain.devices.disks.size() == 1);
  const auto& disk = spec.domain.devices.disks[0];
  CHECK(disk.name == "data");
  CHECK(disk.kind == DiskKind::disk);
  CHECK(disk.bus == "virtio");
  CHECK(disk.boot_order == std::nullopt);
  CHECK(report("    memory: {guest: 1Gi}\n  volumes: [{name: data, file: {path: /srv/d.img}}]\n") ==
        "");
  // A disk that exists keeps its settings and gets no second disk.
  const auto kept = expand(std::string(kHead) +
                           "    memory: {guest: 1Gi}\n"
                           "    devices: {disks: [{name: data, cdrom: {}}]}\n"
                           "  volumes: [{name: data, file: {path: /srv/d.iso}}]\n");
  REQUIRE(kept.domain.devices.disks.size() == 1);
  CHECK(kept.domain.devices.disks[0].kind == DiskKind::cdrom);
}

TEST_CASE("errors about an added disk point at its volume") {
  // A name too long for a volume is too long for its disk too: reported once, at the volume.
  CHECK(report("    memory: {guest: 1Gi}\n"
               "  volumes:\n"
               "  - {name: a-volume-name-far-too-long, file: {path: /srv/d.img}}\n") ==
        "error: spec.volumes[0].name: \"a-volume-name-far-too-long\" is not a name qmd accepts: "
        "use 1 to 24 lower-case letters, digits and '-', starting with a letter or digit "
        "(vm.yaml:8:6)\n");
}

TEST_CASE("the preference applies to the disk added for a volume and to the default NIC") {
  const std::string vmi = "apiVersion: kubevirt.io/v1\n"
                          "kind: VirtualMachine\n"
                          "metadata: {name: win}\n"
                          "spec:\n"
                          "  preference: {name: windows.10}\n"
                          "  template:\n"
                          "    spec:\n"
                          "      domain: {memory: {guest: 4Gi}}\n"
                          "      volumes: [{name: root, file: {path: /srv/win.qcow2}}]\n";
  const auto spec = expand(vmi);
  REQUIRE(spec.domain.devices.disks.size() == 1);
  CHECK(spec.domain.devices.disks[0].bus == "sata");
  REQUIRE(spec.domain.devices.interfaces.size() == 1);
  CHECK(spec.domain.devices.interfaces[0].name == "default");
  CHECK(spec.domain.devices.interfaces[0].binding == "masquerade");
  CHECK(spec.domain.devices.interfaces[0].model == "e1000e");
  REQUIRE(spec.networks.size() == 1);
  CHECK(spec.networks[0].name == "default");
  // Without a preference the default NIC is virtio, as before.
  const auto plain = expand(std::string(kHead) + "    memory: {guest: 1Gi}\n");
  REQUIRE(plain.domain.devices.interfaces.size() == 1);
  CHECK(plain.domain.devices.interfaces[0].model == "virtio");
}

TEST_CASE("absent Hyper-V prerequisites are turned on, each with a warning") {
  CHECK(report("    memory: {guest: 1Gi}\n    features: {hyperv: {synictimer: {}}}\n") ==
        "warning: spec.domain.features.hyperv.synictimer: needs hyperv.synic, which the spec does "
        "not set; turned on spec.domain.features.hyperv.synic: {} as KubeVirt does "
        "(vm.yaml:7:25)\n"
        "warning: spec.domain.features.hyperv.synictimer: needs the Hyper-V clock, which the "
        "spec does not set; turned on spec.domain.clock.timer.hyperv: {} as KubeVirt does "
        "(vm.yaml:7:25)\n"
        "warning: spec.domain.features.hyperv.synic: needs hyperv.vpindex, which the spec does "
        "not set; turned on spec.domain.features.hyperv.vpindex: {} as KubeVirt does "
        "(vm.yaml:7:25)\n");
  CHECK(report("    memory: {guest: 1Gi}\n"
               "    features: {hyperv: {tlbflush: {direct: {}}, ipi: {}, evmcs: {}}}\n") ==
        "warning: spec.domain.features.hyperv.tlbflush: needs hyperv.vpindex, which the spec "
        "does not set; turned on spec.domain.features.hyperv.vpindex: {} as KubeVirt does "
        "(vm.yaml:7:25)\n"
        "warning: spec.domain.features.hyperv.tlbflush.direct: needs hyperv.vapic, which the "
        "spec does not set; turned on spec.domain.features.hyperv.vapic: {} as KubeVirt does "
        "(vm.yaml:7:36)\n"
        "warning: spec.domain.features.hyperv.evmcs: needs the CPU flag vmx, which the spec "
        "does not list; added spec.domain.cpu.features[0]: {name: vmx, policy: require} as "
        "KubeVirt does (vm.yaml:7:58)\n");
  const auto spec = expand(std::string(kHead) +
                           "    memory: {guest: 1Gi}\n    features: {hyperv: {evmcs: {}}}\n");
  CHECK(spec.domain.features.hyperv->vapic->enabled == true);
  CHECK(spec.domain.features.hyperv->vpindex == std::nullopt);
}

TEST_CASE("a prerequisite turned off stays off and is an error naming both fields") {
  CHECK(report("    memory: {guest: 1Gi}\n"
               "    features: {hyperv: {synic: {}, vpindex: {enabled: false}}}\n") ==
        "error: spec.domain.features.hyperv.synic: needs spec.domain.features.hyperv.vpindex, "
        "which is off: enable vpindex or disable synic (QEMU's hv-synic needs hv-vpindex) "
        "(vm.yaml:7:25)\n");
  CHECK(report("    memory: {guest: 1Gi}\n"
               "    features: {hyperv: {evmcs: {}, vapic: {enabled: false}}}\n") ==
        "warning: spec.domain.features.hyperv.evmcs: needs the CPU flag vmx, which the spec "
        "does not list; added spec.domain.cpu.features[0]: {name: vmx, policy: require} as "
        "KubeVirt does (vm.yaml:7:25)\n"
        "error: spec.domain.features.hyperv.evmcs: needs spec.domain.features.hyperv.vapic, "
        "which is off: enable vapic or disable evmcs (QEMU's hv-evmcs needs hv-vapic) "
        "(vm.yaml:7:25)\n");
}

TEST_CASE("hypervPassthrough gets no prerequisites added") {
  CHECK(report("    memory: {guest: 1Gi}\n    features: {hypervPassthrough: {}}\n") == "");
}

TEST_CASE("secure boot turns SMM on unless the spec turns SMM off") {
  const auto on = expand(std::string(kHead) +
                         "    memory: {guest: 1Gi}\n"
                         "    firmware: {bootloader: {efi: {secureBoot: true}}}\n");
  CHECK(on.domain.features.smm->enabled == true);
  CHECK(report("    memory: {guest: 1Gi}\n"
               "    firmware: {bootloader: {efi: {secureBoot: true}}}\n") == "");
  const auto insecure = expand(std::string(kHead) +
                               "    memory: {guest: 1Gi}\n"
                               "    firmware: {bootloader: {efi: {secureBoot: false}}}\n");
  CHECK(insecure.domain.features.smm == std::nullopt);
  CHECK(report("    memory: {guest: 1Gi}\n"
               "    firmware: {bootloader: {efi: {secureBoot: true}}}\n"
               "    features: {smm: {enabled: false}}\n") ==
        "error: spec.domain.firmware.bootloader.efi.secureBoot: secure boot needs SMM, but "
        "spec.domain.features.smm is disabled: remove smm.enabled: false, or set "
        "efi.secureBoot: false (vm.yaml:7:35)\n");
}

TEST_CASE("cluster-only fields are accepted with a warning each") {
  const std::string doc = "apiVersion: kubevirt.io/v1\n"
                          "kind: VirtualMachine\n"
                          "metadata: {name: c}\n"
                          "spec:\n"
                          "  resourceClaimTemplates: [{name: dv}]\n"
                          "  template:\n"
                          "    spec:\n"
                          "      domain: {memory: {guest: 1Gi}}\n"
                          "      priorityClassName: high\n"
                          "      evictionStrategy: LiveMigrate\n"
                          "      nodeSelector: {kubernetes.io/hostname: n1}\n"
                          "      tolerations: [{key: k, operator: Exists}]\n"
                          "      affinity: {nodeAffinity: {}}\n"
                          "      schedulerName: custom\n"
                          "      dnsPolicy: ClusterFirst\n"
                          "      dnsConfig: {nameservers: [1.1.1.1]}\n"
                          "      topologySpreadConstraints: [{maxSkew: 1}]\n"
                          "      resourceClaims: [{name: gpu}]\n";
  const auto spec = expand(doc);
  std::string out;
  for (const auto& w : spec.warnings) {
    out += w.to_string() + "\n";
  }
  const std::string cluster =
      ": has no effect on one host (it places or schedules the VM in a cluster); ignored";
  const std::string t = "spec.template.spec.";
  CHECK(out ==
        "spec.resourceClaimTemplates: has no effect on one host (DRA creates resource claims "
        "in a cluster); ignored (vm.yaml:5:3)\n" +
            t + "priorityClassName" + cluster + " (vm.yaml:9:7)\n" + t + "evictionStrategy" +
            cluster + " (vm.yaml:10:7)\n" + t + "nodeSelector" + cluster + " (vm.yaml:11:7)\n" +
            t + "tolerations" + cluster + " (vm.yaml:12:7)\n" + t + "affinity" + cluster +
            " (vm.yaml:13:7)\n" + t + "schedulerName" + cluster + " (vm.yaml:14:7)\n" + t +
            "dnsPolicy" + cluster + " (vm.yaml:15:7)\n" + t + "dnsConfig" + cluster +
            " (vm.yaml:16:7)\n" + t + "topologySpreadConstraints" + cluster +
            " (vm.yaml:17:7)\n" + t + "resourceClaims" + cluster + " (vm.yaml:18:7)\n");
  CHECK(to_string(validate_spec(spec, RunPolicy{})) == "");
}

TEST_CASE("defaults applied twice add each warning once") {
  auto spec = expand(std::string(kHead) +
                     "    memory: {guest: 1024M}\n    features: {hyperv: {synic: {}}}\n");
  const auto count = spec.warnings.size();
  CHECK(count == 2);
  CHECK(apply_defaults(spec).warnings.size() == count);
}

TEST_CASE("architecture amd64 is accepted; any other is refused naming the host's") {
  const std::string doc = std::string(kHead) + "    memory: {guest: 1Gi}\n  architecture: ";
  CHECK(report("    memory: {guest: 1Gi}\n  architecture: amd64\n") == "");
  const auto arm = parse_spec(doc + "arm64\n", "vm.yaml");
  REQUIRE_FALSE(arm.has_value());
  CHECK(to_string(arm.error()) ==
        "spec.architecture: \"arm64\" is not this host's architecture: the host is amd64 "
        "(x86_64, the only one qmd runs); set amd64 or remove the field (vm.yaml:7:17)\n");
}

TEST_CASE("bridge on the pod network is connected as masquerade, with a warning") {
  const std::string row = "    memory: {guest: 1Gi}\n"
                          "    devices: {interfaces: [{name: default, bridge: {}}]}\n"
                          "  networks: [{name: default, pod: {}}]\n";
  CHECK(report(row) ==
        "warning: spec.domain.devices.interfaces[0].bridge: binds the pod network \"default\", "
        "which is qmd's NAT network on one host: connected as masquerade, the guest gets its "
        "address there by DHCP (vm.yaml:7:44)\n");
  CHECK(expand(kHead + row).domain.devices.interfaces[0].binding == "masquerade");
  // On a multus network, bridge stays bridge.
  CHECK(expand(std::string(kHead) +
               "    memory: {guest: 1Gi}\n"
               "    devices: {interfaces: [{name: lan, bridge: {}}]}\n"
               "  networks: [{name: lan, multus: {networkName: br0}}]\n")
            .domain.devices.interfaces[0]
            .binding == "bridge");
}

TEST_CASE("machine.type \"\" is the default machine type") {
  const auto spec = expand(std::string(kHead) + "    memory: {guest: 1Gi}\n    machine: {type: \"\"}\n");
  CHECK(spec.domain.machine.type == "q35");
  CHECK(report("    memory: {guest: 1Gi}\n    machine: {type: \"\"}\n") == "");
}

TEST_CASE("ports are read, and resourceClaimTemplates accepted with a warning") {
  CHECK(report("    memory: {guest: 1Gi}\n"
               "    devices:\n"
               "      disks: [{name: d, disk: {bus: scsi, rotationRate: 1}}]\n"
               "      interfaces: [{name: default, masquerade: {}, ports: [{port: 80}]}]\n"
               "  networks: [{name: default, pod: {}}]\n"
               "  volumes: [{name: d, hostDisk: {path: /srv/d.img, type: Disk}}]\n") == "");
  const auto spec = parse_spec("apiVersion: kubevirt.io/v1\n"
                               "kind: VirtualMachine\n"
                               "metadata: {name: c}\n"
                               "spec:\n"
                               "  resourceClaimTemplates: [{name: gpu}]\n"
                               "  template: {spec: {domain: {memory: {guest: 1Gi}}}}\n",
                               "vm.yaml");
  REQUIRE_MESSAGE(spec.has_value(), (spec ? "" : to_string(spec.error())));
  CHECK(to_string(spec->warnings) ==
        "spec.resourceClaimTemplates: has no effect on one host (DRA creates resource claims in "
        "a cluster); ignored (vm.yaml:5:3)\n");
}

TEST_CASE("interface and network names may be camel case; disk names may not") {
  CHECK(report("    memory: {guest: 1Gi}\n"
               "    devices: {interfaces: [{name: testSlirp, slirp: {}}]}\n"
               "  networks: [{name: testSlirp, pod: {}}]\n") == "");
  CHECK(report("    memory: {guest: 1Gi}\n"
               "  volumes: [{name: Data, hostDisk: {path: /srv/d.img, type: Disk}}]\n") ==
        "error: spec.volumes[0].name: \"Data\" is not a name qmd accepts: use 1 to 24 "
        "lower-case letters, digits and '-', starting with a letter or digit (vm.yaml:7:14)\n");
}

TEST_CASE("the sidecar hook annotation is accepted with a warning") {
  const std::string doc = "apiVersion: kubevirt.io/v1\n"
                          "kind: VirtualMachine\n"
                          "metadata: {name: c}\n"
                          "spec:\n"
                          "  template:\n"
                          "    metadata:\n"
                          "      annotations: {hooks.kubevirt.io/hookSidecars: '[]'}\n"
                          "    spec: {domain: {memory: {guest: 1Gi}}}\n";
  CHECK(to_string(expand(doc).warnings) ==
        "spec.template.metadata.annotations.hooks.kubevirt.io/hookSidecars: has no effect on one "
        "host (KubeVirt runs these sidecars in the VM's pod to edit libvirt's domain); ignored "
        "(vm.yaml:7:21)\n");
  CHECK(to_string(expand(std::string(kHead) + "    memory: {guest: 1Gi}\n").warnings) == "");
}
