// The bad-spec table: each row is a small document that goes the whole way a spec goes
// (parse_spec -> apply_presets -> apply_defaults -> validate_spec) and the exact errors it
// must produce, with file:line:column.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <string>

#include "policy/parse.hpp"
#include "policy/presets.hpp"
#include "policy/validate.hpp"

using namespace qmd::policy;

namespace {

// Rows that do not start with "apiVersion" are appended to this head, from line 6 on, at
// the domain's indent (4); `  volumes:` / `  networks:` (indent 2) continue the VMI spec.
constexpr const char* kHead = R"(apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata: {name: t}
spec:
  domain:
)";

struct Row {
  const char* yaml;
  const char* expected;  // every error, one per line, without the last newline
};

std::string run(const std::string& row) {
  const std::string text = row.starts_with("apiVersion") ? row : kHead + row;
  auto spec = parse_spec(text, "vm.yaml");
  if (!spec) {
    return to_string(spec.error());
  }
  static const PresetCatalog catalog = *PresetCatalog::load();
  auto expanded = apply_presets(*spec, catalog);
  if (!expanded) {
    return to_string(expanded.error());
  }
  RunPolicy policy;
  policy.bridges = {{"br0", "br0"}};  // state_dir stays unset
  const auto errors = validate_spec(apply_defaults(*expanded), policy);
  return errors.empty() ? "(valid)\n" : to_string(errors);
}

const Row kRows[] = {
    // --- parse errors -------------------------------------------------------------------
    {"    memory: {guest: 1Gi}\n    cpu: {cores: 2, sockts: 1}\n",
     "spec.domain.cpu.sockts: unknown field \"sockts\" (did you mean \"sockets\"?) "
     "(vm.yaml:7:21)"},
    {"    memory: {guest: 1Gi}\n    cpu: {cores: two}\n",
     "spec.domain.cpu.cores: expected an integer, got \"two\" (vm.yaml:7:18)"},
    {"    memory: {guest: 1GB}\n",
     "spec.domain.memory.guest: \"1GB\" is not a byte quantity: use a whole number of bytes or a "
     "number with a suffix Ki, Mi, Gi, Ti, Pi, Ei (powers of 1024) or k, M, G, T, P, E (powers "
     "of 1000), such as 8Gi, 512Mi or 1.5G (vm.yaml:6:21)"},
    {"    memory: {guest: 1Gi}\n    devices:\n      interfaces:\n"
     "      - {name: default, masquerade: {}, bridge: {}}\n",
     "spec.domain.devices.interfaces[0].bridge: \"masquerade\" and \"bridge\" cannot both be set: "
     "set exactly one of masquerade, user, slirp, passt, bridge, tap (vm.yaml:9:41)"},
    {"    memory: {guest: 1Gi}\n    devices:\n      disks:\n"
     "      - {name: a, disk: {}, cdrom: {}}\n",
     "spec.domain.devices.disks[0].cdrom: \"disk\" and \"cdrom\" cannot both be set: set exactly "
     "one of disk, cdrom, lun (vm.yaml:9:29)"},
    {"    memory: {guest: 1Gi}\n    memory: {guest: 2Gi}\n",
     "spec.domain.memory: duplicate key \"memory\" (first at line 6); keep one (vm.yaml:7:5)"},
    {"    memory: {guest: 1Gi}\n    cpu: {cores: 2\n",
     "YAML syntax error: end of map flow not found (vm.yaml:8:1)"},
    {"apiVersion: kubevirt.io/v1\nkind: VirtualMachineInstance\nmetadata: {name: My_VM}\n"
     "spec: {domain: {memory: {guest: 1Gi}}}\n",
     "metadata.name: \"My_VM\" is not a valid name: use at most 63 lowercase letters, digits and "
     "'-', starting and ending with a letter or digit (vm.yaml:3:18)"},
    {"    memory: {guest: 1Gi}\n    clock: {utc: {}, timezone: UTC}\n",
     "spec.domain.clock.timezone: \"utc\" and \"timezone\" cannot both be set: set exactly one of "
     "utc, timezone (vm.yaml:7:22)"},

    // --- cpu and memory -----------------------------------------------------------------
    {"    memory: {guest: 1Gi}\n    cpu: {cores: 0}\n",
     "spec.domain.cpu.cores: must be at least 1 (vm.yaml:7:11)"},
    {"    memory: {guest: 1Gi}\n    cpu: {sockets: 64, cores: 64, threads: 2}\n",
     "spec.domain.cpu: sockets * cores * threads is 8192 vCPUs; at most 4096 are supported "
     "(vm.yaml:7:5)"},
    {"    memory: {guest: 1Gi}\n    cpu: {sockets: 4, maxSockets: 2}\n",
     "spec.domain.cpu.maxSockets: is 2 but sockets is 4; maxSockets must be at least sockets "
     "(vm.yaml:7:23)"},
    {"    cpu: {cores: 1}\n",
     "spec.domain.memory.guest: is required: set domain.memory.guest or "
     "domain.resources.requests.memory, or use an instancetype (vm.yaml:5:3)"},
    {"    memory: {guest: 8Mi}\n",
     "spec.domain.memory.guest: is 8Mi; a guest needs at least 16Mi (vm.yaml:6:14)"},
    {"    memory: {guest: 1024M, hugepages: {pageSize: 2Mi}}\n",
     "spec.domain.memory.hugepages.pageSize: 2Mi pages do not divide the guest memory 977Mi "
     "(1024000000 bytes aligned up to 1Mi); make domain.memory.guest a multiple of 2Mi "
     "(vm.yaml:6:40)"},
    {"    memory: {guest: 1Gi, hugepages: {pageSize: 4Ki}}\n",
     "spec.domain.memory.hugepages.pageSize: is 4Ki; hugepages must be 2Mi or 1Gi "
     "(vm.yaml:6:38)"},
    {"    memory: {guest: 1536Mi, hugepages: {pageSize: 1Gi}}\n",
     "spec.domain.memory.hugepages.pageSize: 1Gi pages do not divide the guest memory 1536Mi; "
     "make domain.memory.guest a multiple of 1Gi (vm.yaml:6:41)"},
    {"    memory: {guest: 1Gi, maxGuest: 1Gi}\n",
     "spec.domain.memory.maxGuest: is 1Gi; it must be larger than the guest memory 1Gi "
     "(vm.yaml:6:26)"},
    {"    memory: {guest: 1Gi}\n    resources:\n      requests: {cpu: 2, memory: 1Gi}\n"
     "      limits: {cpu: 1, memory: 512Mi}\n",
     "spec.domain.resources.limits.cpu: 1 is below requests.cpu 2 (vm.yaml:9:16)\n"
     "spec.domain.resources.limits.memory: 512Mi is below requests.memory 1Gi (vm.yaml:9:24)"},
    {"    memory: {guest: 1Gi}\n    cpu: {dedicatedCpuPlacement: true}\n"
     "    resources: {requests: {cpu: 1500m}}\n",
     "spec.domain.resources.requests.cpu: is 1.5; dedicatedCpuPlacement needs a whole number of "
     "CPUs (vm.yaml:8:28)"},
    {"    memory: {guest: 1Gi}\n    cpu: {isolateEmulatorThread: true}\n",
     "spec.domain.cpu.isolateEmulatorThread: needs domain.cpu.dedicatedCpuPlacement: true "
     "(vm.yaml:7:11)"},

    // --- machine, firmware, launch security ---------------------------------------------
    {"    memory: {guest: 1Gi}\n    machine: {type: virt}\n",
     "spec.domain.machine.type: \"virt\" is not a machine type qmd supports; use q35, pc, "
     "pc-q35-X.Y or pc-i440fx-X.Y (vm.yaml:7:15)"},
    {"    memory: {guest: 1Gi}\n    firmware: {uuid: 1234}\n",
     "spec.domain.firmware.uuid: \"1234\" is not a UUID (like "
     "123e4567-e89b-12d3-a456-426614174000) (vm.yaml:7:16)"},
    {"    memory: {guest: 1Gi}\n    firmware: {bootloader: {efi: {}}}\n"
     "    features: {smm: {enabled: false}}\n",
     "spec.domain.firmware.bootloader.efi.secureBoot: secure boot needs SMM, but "
     "spec.domain.features.smm is disabled: remove smm.enabled: false, or set "
     "efi.secureBoot: false (vm.yaml:7:29)"},
    {"    memory: {guest: 1Gi}\n    firmware: {bootloader: {efi: {secureBoot: false, "
     "persistent: true}}}\n",
     "spec.domain.firmware.bootloader.efi.persistent: persistent EFI variables need a state "
     "directory, and qmd has none configured; set persistent: false or configure a state "
     "directory (vm.yaml:7:54)"},
    {"    memory: {guest: 1Gi}\n    firmware: {kernelBoot: {kernelPath: vmlinuz}}\n",
     "spec.domain.firmware.kernelBoot.kernelPath: \"vmlinuz\" must be an absolute path "
     "(vm.yaml:7:29)"},
    {"    memory: {guest: 1Gi}\n    machine: {type: pc}\n    launchSecurity: {sev: {}}\n",
     "spec.domain.launchSecurity.sev: SEV needs machine type q35 (is \"pc\") (vm.yaml:8:22)\n"
     "spec.domain.launchSecurity.sev: SEV needs UEFI: set "
     "domain.firmware.bootloader.efi.secureBoot: false (vm.yaml:8:22)"},

    // --- clock and Hyper-V --------------------------------------------------------------
    {"    memory: {guest: 1Gi}\n    clock: {timer: {pit: {tickPolicy: merge}}}\n",
     "spec.domain.clock.timer.pit.tickPolicy: \"merge\" is not one of delay, catchup, discard "
     "(vm.yaml:7:27)"},
    {"    memory: {guest: 1Gi}\n    clock: {timer: {rtc: {track: host}}}\n",
     "spec.domain.clock.timer.rtc.track: \"host\" is not one of guest, wall (vm.yaml:7:27)"},
    {"    memory: {guest: 1Gi}\n    features: {hyperv: {synic: {}, vpindex: {enabled: false}}}\n",
     "spec.domain.features.hyperv.synic: needs spec.domain.features.hyperv.vpindex, which is off: "
     "enable vpindex or disable synic (QEMU's hv-synic needs hv-vpindex) "
     "(vm.yaml:7:25)"},
    {"    memory: {guest: 1Gi}\n    features: {hyperv: {vpindex: {}, synic: {}, synictimer: {}}}\n"
     "    clock: {timer: {hyperv: {present: false}}}\n",
     "spec.domain.features.hyperv.synictimer: needs spec.domain.clock.timer.hyperv, which is "
     "off: enable hyperv or disable synictimer (QEMU's hv-stimer needs hv-time) "
     "(vm.yaml:7:49)"},
    {"    memory: {guest: 1Gi}\n"
     "    features: {hyperv: {vpindex: {}, vapic: {enabled: false}, tlbflush: {direct: {}}}}\n",
     "spec.domain.features.hyperv.tlbflush.direct: needs spec.domain.features.hyperv.vapic, which "
     "is off: enable vapic or disable tlbflush.direct (QEMU's hv-tlbflush-direct needs "
     "hv-vapic) (vm.yaml:7:74)"},
    {"    memory: {guest: 1Gi}\n    features: {hyperv: {evmcs: {}, vapic: {enabled: false}}}\n",
     "spec.domain.features.hyperv.evmcs: needs spec.domain.features.hyperv.vapic, which is off: "
     "enable vapic or disable evmcs (QEMU's hv-evmcs needs hv-vapic) (vm.yaml:7:25)"},
    {"    memory: {guest: 1Gi}\n    features: {hyperv: {vendorid: {vendorid: ThirteenChars}}}\n",
     "spec.domain.features.hyperv.vendorid.vendorid: \"ThirteenChars\" has 13 characters; a "
     "Hyper-V vendor id has at most 12 (vm.yaml:7:36)"},
    {"    memory: {guest: 1Gi}\n    features: {hyperv: {spinlocks: {spinlocks: 100}}}\n",
     "spec.domain.features.hyperv.spinlocks.spinlocks: is 100; spinlock retries must be at "
     "least 4095 (vm.yaml:7:37)"},
    {"    memory: {guest: 1Gi}\n    features: {hypervPassthrough: {}, hyperv: {relaxed: {}}}\n",
     "spec.domain.features.hypervPassthrough: turns on every Hyper-V feature the host has and "
     "cannot be combined with features.hyperv; remove one of them (vm.yaml:7:16)"},

    // --- disks and volumes --------------------------------------------------------------
    {"    memory: {guest: 1Gi}\n    devices:\n      disks: [{name: a}, {name: a}]\n"
     "  volumes: [{name: a, file: {path: /srv/a.img}}]\n",
     "spec.domain.devices.disks[1].name: \"a\" is already the name of disks[0] (vm.yaml:8:27)"},
    {"    memory: {guest: 1Gi}\n    devices:\n      disks: [{name: root}]\n",
     "spec.domain.devices.disks[0].name: disk \"root\" has no volume of the same name; add "
     "volumes: - name: root (vm.yaml:8:16)"},
    {"    memory: {guest: 1Gi}\n    devices:\n      disks: [{name: a, bootOrder: 1}]\n"
     "      interfaces: [{name: default, masquerade: {}, bootOrder: 1}]\n"
     "  volumes: [{name: a, file: {path: /srv/a.img}}]\n  networks: [{name: default, pod: {}}]\n",
     "spec.domain.devices.interfaces[0].bootOrder: 1 is already used by disks[0] "
     "(vm.yaml:9:52)"},
    {"    memory: {guest: 1Gi}\n    devices:\n      disks: [{name: cd, cdrom: {bus: virtio}}]\n"
     "  volumes: [{name: cd, file: {path: /srv/cd.iso}}]\n",
     "spec.domain.devices.disks[0].cdrom.bus: \"virtio\" is not one of sata, scsi (vm.yaml:8:34)"},
    {"    memory: {guest: 1Gi}\n    devices:\n      disks: [{name: a, cache: fast}]\n"
     "  volumes: [{name: a, file: {path: /srv/a.img}}]\n",
     "spec.domain.devices.disks[0].cache: \"fast\" is not one of none, writethrough, writeback "
     "(vm.yaml:8:25)"},
    {"    memory: {guest: 1Gi}\n    devices:\n      disks: [{name: a, io: native, cache: "
     "writeback}]\n  volumes: [{name: a, file: {path: /srv/a.img}}]\n",
     "spec.domain.devices.disks[0].io: native needs cache: none, not writeback (QEMU needs "
     "O_DIRECT for aio=native) (vm.yaml:8:25)"},
    {"    memory: {guest: 1Gi}\n    devices:\n      disks: [{name: a, disk: {bus: sata}, "
     "dedicatedIOThread: true}]\n  volumes: [{name: a, file: {path: /srv/a.img}}]\n",
     "spec.domain.devices.disks[0].dedicatedIOThread: needs bus virtio (the disk is on sata) "
     "(vm.yaml:8:44)"},
    {"    memory: {guest: 1Gi}\n    devices:\n      disks: [{name: a, disk: {rotationRate: 1}}]\n"
     "  volumes: [{name: a, file: {path: /srv/a.img}}]\n",
     "spec.domain.devices.disks[0].disk.rotationRate: needs a disk on bus scsi or sata (this disk "
     "is on virtio): only those report a rotation rate (vm.yaml:8:32)"},
    {"    memory: {guest: 1Gi}\n    devices:\n      disks: [{name: a, disk: {bus: sata, "
     "rotationRate: 7200}}, {name: b, disk: {bus: scsi, rotationRate: 1000}}]\n"
     "  volumes: [{name: a, file: {path: /srv/a.img}}, {name: b, file: {path: /srv/b.img}}]\n",
     "spec.domain.devices.disks[1].disk.rotationRate: 1000 is not a rotation rate: use 1 for a "
     "non-rotating disk (SSD) or 1025 to 65534 rpm (vm.yaml:8:93)"},
    {"    memory: {guest: 1Gi}\n    devices:\n      disks: [{name: a, serial: \"has space\"}]\n"
     "  volumes: [{name: a, file: {path: /srv/a.img}}]\n",
     "spec.domain.devices.disks[0].serial: \"has space\" must be 1 to 20 of A-Z a-z 0-9 _ - . "
     "(vm.yaml:8:25)"},
    {"    memory: {guest: 1Gi}\n    devices: {disks: [{name: a}]}\n"
     "  volumes: [{name: a, hostDisk: {path: /srv/a.img, type: DiskOrCreate}}]\n",
     "spec.volumes[0].hostDisk: type DiskOrCreate needs capacity, the size of the disk to "
     "create (vm.yaml:8:23)"},
    {"    memory: {guest: 1Gi}\n    devices: {disks: [{name: a}]}\n"
     "  volumes: [{name: a, hostDisk: {path: a.img, type: Disk}}]\n",
     "spec.volumes[0].hostDisk.path: \"a.img\" must be an absolute path (vm.yaml:8:34)"},
    {"    memory: {guest: 1Gi}\n    devices: {disks: [{name: a}]}\n"
     "  volumes: [{name: a, file: {path: /srv/a.vmdk, format: vmdk}}]\n",
     "spec.volumes[0].file.format: \"vmdk\" is not one of raw, qcow2 (vm.yaml:8:49)"},
    {"    memory: {guest: 1Gi}\n    devices: {disks: [{name: a}]}\n"
     "  volumes: [{name: a, persistentVolumeClaim: {claimName: ../../etc/passwd}}]\n",
     "spec.volumes[0].persistentVolumeClaim.claimName: \"../../etc/passwd\" is not a claim "
     "name: use 1 to 63 lower-case letters, digits and '-', starting and ending with a letter "
     "or digit (a DNS-1123 label) (vm.yaml:8:47)"},
    {"    memory: {guest: 1Gi}\n    devices: {disks: [{name: a}]}\n"
     "  volumes: [{name: a, containerDisk: {image: quay.io/Fedora}}]\n",
     "spec.volumes[0].containerDisk.image: \"quay.io/Fedora\" is not an image reference "
     "(\"Fedora\" is not a path component: lower-case letters and digits, separated by '.', "
     "'_', '__' or '-'); write it as [HOST[:PORT]/]PATH[:TAG][@DIGEST], e.g. "
     "quay.io/containerdisks/fedora:40 (vm.yaml:8:39)"},
    {"    memory: {guest: 1Gi}\n    devices: {disks: [{name: ci}]}\n"
     "  volumes: [{name: ci, cloudInitNoCloud: {userDataBase64: \"I2Nsb3VkLWNvbmZpZw\"}}]\n",
     "spec.volumes[0].cloudInitNoCloud.userDataBase64: is not base64: 18 characters is not a "
     "multiple of 4 (is its = padding missing?) (vm.yaml:8:59)"},

    // --- interfaces and networks --------------------------------------------------------
    {"    memory: {guest: 1Gi}\n    devices: {interfaces: [{name: lan, bridge: {}}]}\n",
     "spec.domain.devices.interfaces[0].name: interface \"lan\" has no network of the same "
     "name; add networks: - name: lan (vm.yaml:7:29)"},
    {"    memory: {guest: 1Gi}\n    devices: {interfaces: [{name: default, masquerade: {}, "
     "model: igb}]}\n  networks: [{name: default, pod: {}}]\n",
     "spec.domain.devices.interfaces[0].model: \"igb\" is not one of virtio, e1000e, e1000, "
     "rtl8139, pcnet, ne2k_pci (vm.yaml:7:60)"},
    {"    memory: {guest: 1Gi}\n    devices: {interfaces: [{name: default, masquerade: {}, "
     "macAddress: \"01:00:5e:00:00:01\"}]}\n  networks: [{name: default, pod: {}}]\n",
     "spec.domain.devices.interfaces[0].macAddress: \"01:00:5e:00:00:01\" is a multicast "
     "address; the first octet must be even (vm.yaml:7:60)"},
    {"    memory: {guest: 1Gi}\n    devices: {interfaces: [{name: lan, masquerade: {}}]}\n"
     "  networks: [{name: lan, multus: {networkName: br0}}]\n",
     "spec.domain.devices.interfaces[0].masquerade: masquerade works only on a pod network, "
     "and network \"lan\" is multus; use bridge or tap (vm.yaml:7:40)"},
    {"    memory: {guest: 1Gi}\n    devices: {interfaces: [{name: lan, bridge: {}}]}\n"
     "  networks: [{name: lan, multus: {networkName: br9}}]\n",
     "spec.networks[0].multus.networkName: \"br9\" is not a bridge qmd knows; add it under "
     "bridges: in qmd.yaml (vm.yaml:8:35)"},
    {"    memory: {guest: 1Gi}\n    devices:\n      interfaces: [{name: a, masquerade: {}}, "
     "{name: b, user: {}}]\n  networks: [{name: a, pod: {}}, {name: b, pod: {}}]\n",
     "spec.networks[1].pod: only one pod network is allowed (networks[0] is one) (vm.yaml:9:44)"},
    {"    memory: {guest: 1Gi}\n    devices:\n      interfaces: [{name: default, masquerade: {}}]\n"
     "  networks: [{name: default, pod: {}}, {name: lan, multus: {networkName: br0}}]\n",
     "spec.networks[1].name: network \"lan\" is not used by any interface; add an interface "
     "named \"lan\" or remove the network (vm.yaml:9:41)"},

    // --- device counts QEMU would refuse ----------------------------------------------
    { "    memory: {guest: 1Gi}\n    devices:\n      disks: [{name: c0, cdrom: {}}, {na"
     "me: c1, cdrom: {}}, {name: c2, cdrom: {}}, {name: c3, cdrom: {}}, {name: c4, cdr"
     "om: {}}, {name: c5, cdrom: {}}, {name: c6, cdrom: {}}]\n  volumes: [{name: c0, f"
     "ile: {path: /c0.iso}}, {name: c1, file: {path: /c1.iso}}, {name: c2, file: {path"
     ": /c2.iso}}, {name: c3, file: {path: /c3.iso}}, {name: c4, file: {path: /c4.iso}"
     "}, {name: c5, file: {path: /c5.iso}}, {name: c6, file: {path: /c6.iso}}]\n",
     "spec.domain.devices.disks: 7 disks and cdroms are on bus sata, but the SATA controller "
     "has 6 ports; put disks on bus virtio or scsi (vm.yaml:8:7)"},
    { "    memory: {guest: 1Gi}\n    machine: {type: pc}\n    devices:\n      inputs: ["
     "{name: i0, type: tablet, bus: virtio}, {name: i1, type: tablet, bus: virtio}, {n"
     "ame: i2, type: tablet, bus: virtio}, {name: i3, type: tablet, bus: virtio}, {nam"
     "e: i4, type: tablet, bus: virtio}, {name: i5, type: tablet, bus: virtio}, {name:"
     " i6, type: tablet, bus: virtio}, {name: i7, type: tablet, bus: virtio}, {name: i"
     "8, type: tablet, bus: virtio}, {name: i9, type: tablet, bus: virtio}, {name: i10"
     ", type: tablet, bus: virtio}, {name: i11, type: tablet, bus: virtio}, {name: i12"
     ", type: tablet, bus: virtio}, {name: i13, type: tablet, bus: virtio}, {name: i14"
     ", type: tablet, bus: virtio}, {name: i15, type: tablet, bus: virtio}, {name: i16"
     ", type: tablet, bus: virtio}, {name: i17, type: tablet, bus: virtio}, {name: i18"
     ", type: tablet, bus: virtio}, {name: i19, type: tablet, bus: virtio}, {name: i20"
     ", type: tablet, bus: virtio}, {name: i21, type: tablet, bus: virtio}, {name: i22"
     ", type: tablet, bus: virtio}, {name: i23, type: tablet, bus: virtio}, {name: i24"
     ", type: tablet, bus: virtio}, {name: i25, type: tablet, bus: virtio}, {name: i26"
     ", type: tablet, bus: virtio}]\n",
     "spec.domain.devices: machine pc has 29 free PCI slots, and these devices need 30; use "
     "machine q35, or put disks on bus scsi and drop devices (vm.yaml:8:5)"},
    // --- other devices ------------------------------------------------------------------
    {"    memory: {guest: 1Gi}\n    devices: {inputs: [{name: m, type: mouse}]}\n",
     "spec.domain.devices.inputs[0].type: \"mouse\" is not one of tablet, keyboard "
     "(vm.yaml:7:34)"},
    {"    memory: {guest: 1Gi}\n    devices: {watchdog: {name: w, i6300esb: {action: pause}}}\n",
     "spec.domain.devices.watchdog.i6300esb.action: \"pause\" is not one of poweroff, reset, "
     "shutdown (vm.yaml:7:46)"},
    {"    memory: {guest: 1Gi}\n    devices: {tpm: {persistent: true}}\n",
     "spec.domain.devices.tpm.persistent: a persistent TPM needs a state directory, and qmd has "
     "none configured; set persistent: false or configure a state directory (vm.yaml:7:21)"},
    {"    memory: {guest: 1Gi}\n    ioThreadsPolicy: supplementalPool\n",
     "spec.domain.ioThreadsPolicy: supplementalPool is not supported; use shared or auto "
     "(vm.yaml:7:5)"},

    // --- presets ------------------------------------------------------------------------
    {"apiVersion: kubevirt.io/v1\nkind: VirtualMachine\nmetadata: {name: t}\nspec:\n"
     "  instancetype: {name: u1.tiny}\n  template: {spec: {domain: {}}}\n",
     "spec.instancetype.name: unknown instancetype \"u1.tiny\"; available: cx1.2xlarge, "
     "cx1.2xlarge1gi, cx1.4xlarge, cx1.4xlarge1gi, cx1.8xlarge, cx1.8xlarge1gi, cx1.large, "
     "cx1.large1gi, cx1.medium, cx1.medium1gi, cx1.xlarge, cx1.xlarge1gi, d1.2xlarge, "
     "d1.2xmedium, d1.4xlarge, d1.8xlarge, d1.large, d1.medium, d1.micro, d1.nano, d1.small, "
     "d1.xlarge, m1.2xlarge, m1.4xlarge, m1.8xlarge, m1.large, m1.xlarge, n1.2xlarge, "
     "n1.4xlarge, n1.8xlarge, n1.large, n1.medium, n1.xlarge, o1.2xlarge, o1.4xlarge, "
     "o1.8xlarge, o1.large, o1.medium, o1.micro, o1.nano, o1.small, o1.xlarge, rt1.2xlarge, "
     "rt1.4xlarge, rt1.8xlarge, rt1.large, rt1.medium, rt1.micro, rt1.small, rt1.xlarge, "
     "u1.2xlarge, u1.2xmedium, u1.4xlarge, u1.8xlarge, u1.large, u1.medium, u1.micro, u1.nano, "
     "u1.small, u1.xlarge (vm.yaml:5:18)"},
    {"apiVersion: kubevirt.io/v1\nkind: VirtualMachine\nmetadata: {name: t}\nspec:\n"
     "  instancetype: {name: u1.large}\n"
     "  template: {spec: {domain: {cpu: {sockets: 2}}}}\n",
     "spec.template.spec.domain.cpu.sockets: conflicts with instancetype \"u1.large\" "
     "(spec.instancetype.name), which sets the vCPUs; remove this field or the instancetype "
     "(vm.yaml:6:36)"},
    {"apiVersion: kubevirt.io/v1\nkind: VirtualMachine\nmetadata: {name: t}\nspec:\n"
     "  preference: {name: windows.2k19}\n"
     "  template: {spec: {domain: {cpu: {cores: 2}, memory: {guest: 4Gi}}}}\n",
     "(valid)"},
};

}  // namespace

TEST_CASE("a good spec passes the whole pipeline") {
  CHECK(run("    memory: {guest: 1Gi}\n") == "(valid)\n");
}

TEST_CASE("device counts at QEMU's limits pass") {
  std::string disks, volumes, inputs;
  for (int i = 0; i < 6; ++i) {
    disks += fmt::format("{}{{name: c{}, cdrom: {{}}}}", i ? ", " : "", i);
    volumes += fmt::format("{}{{name: c{}, file: {{path: /c{}.iso}}}}", i ? ", " : "", i, i);
  }
  for (int i = 0; i < 26; ++i) {  // + virtio-serial, the pod NIC and the balloon = 29
    inputs += fmt::format("{}{{name: i{}, type: tablet, bus: virtio}}", i ? ", " : "", i);
  }
  CHECK(run("    memory: {guest: 1Gi}\n    devices:\n      disks: [" + disks +
            "]\n  volumes: [" + volumes + "]\n") == "(valid)\n");
  CHECK(run("    memory: {guest: 1Gi}\n    machine: {type: pc}\n    devices:\n      inputs: [" +
            inputs + "]\n") == "(valid)\n");
}

TEST_CASE("the bad-spec table") {
  static_assert(std::size(kRows) >= 45);
  for (const auto& row : kRows) {
    CAPTURE(row.yaml);
    CHECK(run(row.yaml) == std::string(row.expected) + "\n");
  }
}
