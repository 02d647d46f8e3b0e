// Every kind of error the parser reports, with its exact message and line:column.
#include <doctest/doctest.h>

#include <string>

#include "policy/parse.hpp"

using namespace qmd::policy;

namespace {

// Lines 1-5; what is appended starts at line 6, inside spec.domain (indent 4).
constexpr const char* kHead = R"(apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata: {name: t}
spec:
  domain:
)";

std::string errors_of(const std::string& text) {
  auto spec = parse_spec(text, "vm.yaml");
  return spec ? std::string("(parsed)") : to_string(spec.error());
}

std::string domain_errors(const std::string& domain) { return errors_of(kHead + domain); }

}  // namespace

TEST_CASE("a valid document reports nothing") {
  CHECK(domain_errors("    cpu: {cores: 2}\n") == "(parsed)");
}

TEST_CASE("wrong types name the field, the value and its position") {
  struct Row {
    const char* domain;
    const char* error;
  };
  const Row rows[] = {
      {"    cpu:\n      cores: four\n",
       "spec.domain.cpu.cores: expected an integer, got \"four\" (vm.yaml:7:14)"},
      {"    cpu: {cores: -2}\n",
       "spec.domain.cpu.cores: expected an integer from 0 to 4294967295, got -2 (vm.yaml:6:18)"},
      {"    cpu: {cores: 4294967296}\n",
       "spec.domain.cpu.cores: expected an integer from 0 to 4294967295, got 4294967296 "
       "(vm.yaml:6:18)"},
      {"    cpu: {cores: 1.5}\n",
       "spec.domain.cpu.cores: expected an integer, got \"1.5\" (vm.yaml:6:18)"},
      {"    cpu: {cores: [1]}\n",
       "spec.domain.cpu.cores: expected an integer, got a list (vm.yaml:6:18)"},
      {"    cpu: {cores: }\n",
       "spec.domain.cpu.cores: expected an integer, got null (vm.yaml:6:11)"},
      {"    cpu: {dedicatedCpuPlacement: yes}\n",
       "spec.domain.cpu.dedicatedCpuPlacement: expected true or false, got \"yes\" (vm.yaml:6:34)"},
      {"    cpu: {dedicatedCpuPlacement: \"true\"}\n",
       "spec.domain.cpu.dedicatedCpuPlacement: expected true or false, got \"true\" (a quoted "
       "string; remove the quotes) (vm.yaml:6:34)"},
      {"    cpu: {model: {name: x}}\n",
       "spec.domain.cpu.model: expected a string, got a mapping (vm.yaml:6:18)"},
      {"    cpu: [1]\n", "spec.domain.cpu: expected a mapping, got a list (vm.yaml:6:10)"},
      {"    devices: {disks: {name: a}}\n",
       "spec.domain.devices.disks: expected a list, got a mapping (vm.yaml:6:22)"},
      {"    devices: {disks: [root]}\n",
       "spec.domain.devices.disks[0]: expected a mapping, got \"root\" (vm.yaml:6:23)"},
      {"    memory: {guest: 8GB}\n",
       "spec.domain.memory.guest: \"8GB\" is not a byte quantity: use a whole number of bytes or "
       "a number with a suffix Ki, Mi, Gi, Ti, Pi, Ei (powers of 1024) or k, M, G, T, P, E "
       "(powers of 1000), such as 8Gi, 512Mi or 1.5G (vm.yaml:6:21)"},
      {"    memory: {guest: 17Ei}\n",
       "spec.domain.memory.guest: \"17Ei\" is too large: at most 18446744073709551615 bytes "
       "(vm.yaml:6:21)"},
      {"    resources: {requests: {cpu: half}}\n",
       "spec.domain.resources.requests.cpu: \"half\" is not a CPU quantity: use a number of CPUs "
       "such as 2 or 1.5, or millicpus such as 500m (vm.yaml:6:33)"},
      {"    clock: {utc: {offsetSeconds: 1e3}}\n",
       "spec.domain.clock.utc.offsetSeconds: expected an integer, got \"1e3\" (vm.yaml:6:34)"},
  };
  for (const auto& row : rows) {
    CAPTURE(row.domain);
    CHECK(domain_errors(row.domain) == std::string(row.error) + "\n");
  }
}

TEST_CASE("unknown fields are errors with the nearest known name") {
  CHECK(domain_errors("    cpu:\n      coers: 4\n") ==
        "spec.domain.cpu.coers: unknown field \"coers\" (did you mean \"cores\"?) (vm.yaml:7:7)\n");
  CHECK(domain_errors("    machine: {typ: q35}\n") ==
        "spec.domain.machine.typ: unknown field \"typ\" (did you mean \"type\"?) (vm.yaml:6:15)\n");
  CHECK(domain_errors("    machine: {flavour: q35}\n") ==
        "spec.domain.machine.flavour: unknown field \"flavour\"; known fields here: type "
        "(vm.yaml:6:15)\n");
  CHECK(domain_errors("    clock:\n      timer:\n        hpet: {track: guest}\n") ==
        "spec.domain.clock.timer.hpet.track: unknown field \"track\"; known fields here: "
        "present, enabled, tickPolicy (vm.yaml:8:16)\n");
  CHECK(errors_of(std::string(kHead) + "    cpu: {}\n  bogus: {}\n") ==
        "spec.bogus: unknown field \"bogus\"; known fields here: priorityClassName, "
        "evictionStrategy, nodeSelector, tolerations, affinity, schedulerName, dnsPolicy, "
        "dnsConfig, topologySpreadConstraints, resourceClaims, domain, volumes, networks, "
        "accessCredentials, readinessProbe, livenessProbe, hostname, subdomain, startStrategy, "
        "terminationGracePeriodSeconds, architecture "
        "(vm.yaml:7:3)\n");
}

TEST_CASE("duplicate keys are errors") {
  CHECK(domain_errors("    cpu:\n      cores: 2\n      cores: 4\n") ==
        "spec.domain.cpu.cores: duplicate key \"cores\" (first at line 7); keep one "
        "(vm.yaml:8:7)\n");
}

TEST_CASE("exactly-one-of groups name their alternatives") {
  struct Row {
    const char* domain;
    const char* error;
  };
  const Row rows[] = {
      {"    firmware:\n      bootloader: {}\n",
       "spec.domain.firmware.bootloader: set exactly one of bios, efi (vm.yaml:7:19)"},
      {"    firmware:\n      bootloader: {bios: {}, efi: {}}\n",
       "spec.domain.firmware.bootloader.efi: \"bios\" and \"efi\" cannot both be set: set exactly "
       "one of bios, efi (vm.yaml:7:30)"},
      {"    devices:\n      disks:\n      - {name: a, disk: {}, lun: {}}\n",
       "spec.domain.devices.disks[0].lun: \"disk\" and \"lun\" cannot both be set: set exactly "
       "one of disk, cdrom, lun (vm.yaml:8:29)"},
      {"    devices:\n      interfaces:\n      - name: a\n",
       "spec.domain.devices.interfaces[0]: set exactly one of masquerade, user, slirp, passt, "
       "bridge, tap (vm.yaml:8:9)"},
      {"    devices:\n      interfaces:\n      - {name: a, user: {}, bridge: {}}\n",
       "spec.domain.devices.interfaces[0].bridge: \"user\" and \"bridge\" cannot both be set: set "
       "exactly one of masquerade, user, slirp, passt, bridge, tap (vm.yaml:8:29)"},
      {"    devices:\n      watchdog: {name: w}\n",
       "spec.domain.devices.watchdog: set exactly one of i6300esb (vm.yaml:7:17)"},
      {"    launchSecurity: {}\n",
       "spec.domain.launchSecurity: set exactly one of sev, snp, tdx (vm.yaml:6:21)"},
      {"    launchSecurity: {snp: {}, tdx: {}}\n",
       "spec.domain.launchSecurity.tdx: \"snp\" and \"tdx\" cannot both be set: set exactly one of "
       "sev, snp, tdx (vm.yaml:6:31)"},
      {"    clock: {utc: {}, timezone: UTC}\n",
       "spec.domain.clock.timezone: \"utc\" and \"timezone\" cannot both be set: set exactly one "
       "of utc, timezone (vm.yaml:6:22)"},
      {"    clock:\n      timer:\n        rtc: {present: true, enabled: true}\n",
       "spec.domain.clock.timer.rtc.enabled: \"present\" and \"enabled\" cannot both be set: set "
       "exactly one of present, enabled (vm.yaml:8:30)"},
  };
  for (const auto& row : rows) {
    CAPTURE(row.domain);
    CHECK(domain_errors(row.domain) == std::string(row.error) + "\n");
  }
}

TEST_CASE("volume and network sources are exactly one of the known kinds") {
  CHECK(errors_of(std::string(kHead) + "    cpu: {}\n  volumes:\n  - name: a\n") ==
        "spec.volumes[0]: set exactly one of hostDisk, file, block, emptyDisk, "
        "persistentVolumeClaim, containerDisk, dataVolume, cloudInitNoCloud, "
        "cloudInitConfigDrive, sysprep, ephemeral (vm.yaml:8:5)\n");
  CHECK(errors_of(std::string(kHead) +
                  "    cpu: {}\n  networks:\n  - {name: a, pod: {}, multus: {networkName: b}}\n") ==
        "spec.networks[0].multus: \"pod\" and \"multus\" cannot both be set: set exactly one of "
        "pod, multus (vm.yaml:8:24)\n");
}

TEST_CASE("refused fields say what to do") {
  CHECK(domain_errors("    devices:\n      sound: {name: s}\n") ==
        "spec.domain.devices.sound: sound devices are not supported by qmd; remove "
        "devices.sound (vm.yaml:7:7)\n");
  CHECK(domain_errors("    firmware:\n      kernelBoot:\n        container: {image: k}\n") ==
        "spec.domain.firmware.kernelBoot.container: a kernel from a container image is not "
        "available on one host: qmd pulls no images; give local files as "
        "kernelBoot.kernelPath and kernelBoot.initrdPath (vm.yaml:8:9)\n");
}

TEST_CASE("the top of the document: apiVersion, kind, metadata") {
  CHECK(errors_of("apiVersion: v1\nkind: Pod\nmetadata: {name: Web_1}\nspec: {}\n") ==
        "apiVersion: \"v1\" is not supported: use kubevirt.io/v1 or kubevirt.io/v1alpha3 "
        "(vm.yaml:1:13)\n"
        "kind: \"Pod\" is not supported: use VirtualMachine or VirtualMachineInstance "
        "(vm.yaml:2:7)\n"
        "metadata.name: \"Web_1\" is not a valid name: use at most 63 lowercase letters, digits "
        "and '-', starting and ending with a letter or digit (vm.yaml:3:18)\n");
  CHECK(errors_of("kind: VirtualMachine\nmetadata: {uid: x}\n") ==
        "apiVersion: missing required field \"apiVersion\" (vm.yaml:1:1)\n"
        "spec: missing required field \"spec\" (vm.yaml:1:1)\n"
        "metadata.name: missing required field \"name\" (vm.yaml:2:11)\n"
        "metadata.uid: unknown field \"uid\"; known fields here: name, namespace, labels, "
        "annotations (vm.yaml:2:12)\n");
  CHECK(errors_of("apiVersion: kubevirt.io/v1\nkind: VirtualMachine\nmetadata: {name: a}\n"
                  "spec: {running: true}\n") ==
        "spec.template: missing required field \"template\" (vm.yaml:4:7)\n");
  const std::string long_name(64, 'a');
  CHECK(errors_of("apiVersion: kubevirt.io/v1\nkind: VirtualMachineInstance\nmetadata: {name: " +
                  long_name + "}\nspec: {domain: {}}\n") ==
        "metadata.name: \"" + long_name +
            "\" is not a valid name: use at most 63 lowercase letters, digits and '-', starting "
            "and ending with a letter or digit (vm.yaml:3:18)\n");
}

TEST_CASE("documents that are not one mapping") {
  CHECK(errors_of("") ==
        "the document is empty: expected a VirtualMachine or VirtualMachineInstance: a mapping "
        "with apiVersion, kind, metadata and spec (vm.yaml)\n");
  CHECK(errors_of("# only a comment\n") ==
        "the document is empty: expected a VirtualMachine or VirtualMachineInstance: a mapping "
        "with apiVersion, kind, metadata and spec (vm.yaml)\n");
  CHECK(errors_of("- a\n- b\n") ==
        "expected a VirtualMachine or VirtualMachineInstance: a mapping with apiVersion, kind, "
        "metadata and spec, got a list (vm.yaml:1:1)\n");
  CHECK(errors_of("kind: a\n---\nkind: b\n") ==
        "found 2 YAML documents; a spec file holds exactly one VM: split them into separate "
        "files (vm.yaml:3:1)\n");
  CHECK(errors_of("spec:\n  domain: [\n") ==
        "YAML syntax error: end of sequence flow not found (vm.yaml:3:1)\n");
  CHECK(errors_of("spec: a: b\n") == "YAML syntax error: illegal map value (vm.yaml:1:8)\n");
}

TEST_CASE("all errors come back at once, in document order") {
  CHECK(domain_errors("    devices:\n      bogus: 1\n      disks:\n      - name: a\n"
                      "        cache: [x]\n    cpu: {cores: x}\n") ==
        "spec.domain.devices.bogus: unknown field \"bogus\"; known fields here: disks, "
        "interfaces, inputs, watchdog, tpm, rng, video, networkInterfaceMultiqueue, "
        "blockMultiQueue, useVirtioTransitional, autoattachSerialConsole, "
        "autoattachGraphicsDevice, "
        "autoattachMemBalloon, autoattachInputDevice, autoattachPodInterface, sound, gpus, "
        "hostDevices "
        "(vm.yaml:7:7)\n"
        "spec.domain.devices.disks[0].cache: expected a string, got a list (vm.yaml:10:16)\n"
        "spec.domain.cpu.cores: expected an integer, got \"x\" (vm.yaml:11:18)\n");
}

TEST_CASE("an empty name and deep nesting are named plainly") {
  CHECK(errors_of("apiVersion: kubevirt.io/v1\nkind: VirtualMachineInstance\n"
                  "metadata: {name: \"\"}\nspec: {domain: {}}\n") ==
        "metadata.name: \"\" is not a valid name: use at most 63 lowercase letters, digits and "
        "'-', starting and ending with a letter or digit (vm.yaml:3:18)\n");
  const std::string deep = "a: " + std::string(3000, '[') + std::string(3000, ']') + "\n";
  CHECK(errors_of(deep) == "the document nests too deeply to be a VM spec; check its brackets and "
                            "indentation (vm.yaml:1:6004)\n");
}
