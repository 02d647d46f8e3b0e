// The built-in x86_64 preferences, composed from components as KubeVirt's
// common-instancetypes composes them (the facts and where they were read are in
// tests/unit/policy/test_preset_upstream_facts.cpp).
#include "policy/preset_builtin_table.hpp"

namespace qmd::policy::presets::builtin {
namespace {

const std::vector<Component> kComponents = {
    // Hyper-V enlightenments and the clock Windows expects.
    {"hyperv",
     "{clock: {preferredClockOffset: {utc: {}}, preferredTimer: {hpet: {present: false}, "
     "pit: {tickPolicy: delay}, rtc: {tickPolicy: catchup}, hyperv: {}}}, "
     "features: {preferredAcpi: {}, preferredApic: {}, preferredHyperv: {relaxed: {}, "
     "vapic: {}, vpindex: {}, spinlocks: {spinlocks: 8191}, synic: {}, "
     "synictimer: {direct: {}}, tlbflush: {}, frequencies: {}, reenlightenment: {}, ipi: {}, "
     "runtime: {}, reset: {}}}}"},
    {"cpu-topology-sockets", "{cpu: {preferredCPUTopology: sockets}}"},
    {"cpu-topology-cores", "{cpu: {preferredCPUTopology: cores}}"},
    {"cpu-topology-spread",
     "{cpu: {preferredCPUTopology: spread, spreadOptions: {across: SocketsCoresThreads}}}"},
    {"cpu-topology-spread-4",
     "{cpu: {preferredCPUTopology: spread, spreadOptions: {across: SocketsCoresThreads, "
     "ratio: 4}}}"},
    // Realtime guests: a serial console, no display, no balloon.
    {"realtime",
     "{devices: {preferredAutoattachGraphicsDevice: false, preferredAutoattachMemBalloon: false, "
     "preferredAutoattachSerialConsole: true}}"},
    {"diskbus-sata", "{devices: {preferredDiskBus: sata}}"},
    {"diskbus-virtio-blk", "{devices: {preferredDiskBus: virtio}}"},
    {"interfacemodel-e1000e", "{devices: {preferredInterfaceModel: e1000e}}"},
    {"interfacemodel-virtio-net", "{devices: {preferredInterfaceModel: virtio}}"},
    {"interfacemodel-e1000", "{devices: {preferredInterfaceModel: e1000}}"},
    {"interfacemodel-rtl8139", "{devices: {preferredInterfaceModel: rtl8139}}"},
    // Guests that cannot address PCI memory above 4 GiB (Windows XP and 2003).
    {"pcihole64", "{annotations: {kubevirt.io/disablePCIHole64: \"true\"}}"},
    {"interface-multiqueue", "{devices: {preferredNetworkInterfaceMultiQueue: true}}"},
    {"disk-dedicatediothread", "{devices: {preferredDiskDedicatedIoThread: true}}"},
    {"rng", "{devices: {preferredRng: {}}}"},
    {"videotype-virtio", "{devices: {preferredVideoType: virtio}}"},
    {"virtio-transitional", "{devices: {preferredUseVirtioTransitional: true}}"},
    {"tablet-usb", "{devices: {preferredAutoattachInputDevice: true}}"},
    {"tablet-virtio",
     "{devices: {preferredAutoattachInputDevice: true, preferredInputBus: virtio, "
     "preferredInputType: tablet}}"},
    {"termination-grace-period", "{preferredTerminationGracePeriodSeconds: 3600}"},
    {"tpm", "{devices: {preferredTPM: {persistent: true}}}"},
    {"efi", "{firmware: {preferredEfi: {secureBoot: false}}}"},
    {"efi-persisted", "{firmware: {preferredEfi: {persistent: true, secureBoot: false}}}"},
    {"secureboot", "{features: {preferredSmm: {}}, firmware: {preferredEfi: {secureBoot: true}}}"},
    {"architecture-amd64", "{preferredArchitecture: amd64, requirements: {architecture: amd64}}"},
};

// The bases upstream builds its preferences on, as component lists.
using Parts = std::vector<std::string_view>;
const Parts kWindows = {"hyperv",       "cpu-topology-sockets",
                        "diskbus-sata", "interfacemodel-e1000e",
                        "tablet-usb",   "termination-grace-period"};
const Parts kWindowsVirtio = {"diskbus-virtio-blk", "interfacemodel-virtio-net", "tablet-virtio",
                              "videotype-virtio"};
const Parts kLinux = {"diskbus-virtio-blk", "interfacemodel-virtio-net", "rng"};

Parts parts(std::initializer_list<const Parts*> bases, Parts more = {}) {
  Parts out;
  for (const auto* base : bases) {
    out.insert(out.end(), base->begin(), base->end());
  }
  out.insert(out.end(), more.begin(), more.end());
  return out;
}

constexpr std::string_view kWindowsServer = "{cpu: {guest: 1}, memory: {guest: 2Gi}}";

const std::vector<PreferenceRow> kRows = {
    {"windows.10", parts({&kWindows}, {"cpu-topology-cores", "tpm", "secureboot"}),
     "{cpu: {guest: 1}, memory: {guest: 2Gi}}"},
    {"windows.10.virtio",
     parts({&kWindows, &kWindowsVirtio}, {"cpu-topology-cores", "tpm", "secureboot"}),
     "{cpu: {guest: 1}, memory: {guest: 2Gi}}"},
    {"windows.11", parts({&kWindows}, {"cpu-topology-cores", "efi-persisted", "tpm", "secureboot"}),
     "{cpu: {guest: 2}, memory: {guest: 4Gi}}"},
    {"windows.11.virtio",
     parts({&kWindows, &kWindowsVirtio},
           {"cpu-topology-cores", "efi-persisted", "tpm", "secureboot"}),
     "{cpu: {guest: 2}, memory: {guest: 4Gi}}"},
    {"windows.2k16", parts({&kWindows}, {"secureboot"}), kWindowsServer},
    {"windows.2k16.virtio", parts({&kWindows, &kWindowsVirtio}, {"secureboot"}), kWindowsServer},
    {"windows.2k19", parts({&kWindows}, {"secureboot"}), kWindowsServer},
    {"windows.2k19.virtio", parts({&kWindows, &kWindowsVirtio}, {"secureboot"}), kWindowsServer},
    {"windows.2k22", parts({&kWindows}, {"efi-persisted", "tpm", "secureboot"}), kWindowsServer},
    {"windows.2k22.virtio",
     parts({&kWindows, &kWindowsVirtio}, {"efi-persisted", "tpm", "secureboot"}), kWindowsServer},
    {"windows.2k25", parts({&kWindows}, {"efi-persisted", "tpm", "secureboot"}), kWindowsServer},
    {"windows.2k25.virtio",
     parts({&kWindows, &kWindowsVirtio}, {"efi-persisted", "tpm", "secureboot"}), kWindowsServer},
    {"windows.2k12", kWindows, "{cpu: {guest: 1}, memory: {guest: 512Mi}}"},
    {"windows.2k12.virtio", parts({&kWindows, &kWindowsVirtio}),
     "{cpu: {guest: 1}, memory: {guest: 512Mi}}"},
    {"windows.2k8", parts({&kWindows}, {"interfacemodel-e1000"}),
     "{cpu: {guest: 1}, memory: {guest: 512Mi}}"},
    {"windows.2k8.virtio", parts({&kWindows, &kWindowsVirtio}),
     "{cpu: {guest: 1}, memory: {guest: 512Mi}}"},
    {"windows.2k3", parts({&kWindows}, {"pcihole64", "interfacemodel-rtl8139"}),
     "{cpu: {guest: 1}, memory: {guest: 256Mi}}"},
    {"windows.xp", parts({&kWindows}, {"pcihole64"}), "{cpu: {guest: 1}, memory: {guest: 128Mi}}"},
    {"windows.7", kWindows, "{cpu: {guest: 1}, memory: {guest: 2Gi}}"},
    {"windows.7.virtio", parts({&kWindows, &kWindowsVirtio}),
     "{cpu: {guest: 1}, memory: {guest: 2Gi}}"},
    {"linux", kLinux},
    {"linux.efi", parts({&kLinux}, {"efi"})},
    {"linux.virtiotransitional", parts({&kLinux}, {"virtio-transitional"})},
    {"debian", parts({&kLinux}, {"efi"}), "{cpu: {guest: 1}, memory: {guest: 512Mi}}"},
    {"ubuntu", kLinux, "{cpu: {guest: 1}, memory: {guest: 2Gi}}"},
    {"fedora", parts({&kLinux}, {"secureboot", "architecture-amd64"}),
     "{cpu: {guest: 1}, memory: {guest: 2Gi}}"},
    {"rhel.7", kLinux, "{cpu: {guest: 1}, memory: {guest: 1Gi}}"},
    {"rhel.7.desktop", parts({&kLinux}, {"tablet-virtio"}),
     "{cpu: {guest: 1}, memory: {guest: 1Gi}}"},
    {"rhel.8", kLinux, "{cpu: {guest: 1}, memory: {guest: 1.5Gi}}"},
    {"rhel.8.desktop", parts({&kLinux}, {"tablet-virtio"}),
     "{cpu: {guest: 1}, memory: {guest: 1.5Gi}}"},
    {"rhel.9", parts({&kLinux}, {"disk-dedicatediothread", "secureboot", "architecture-amd64"}),
     "{cpu: {guest: 1}, memory: {guest: 1.5Gi}}"},
    {"rhel.9.desktop",
     parts({&kLinux},
           {"disk-dedicatediothread", "secureboot", "architecture-amd64", "tablet-virtio"}),
     "{cpu: {guest: 1}, memory: {guest: 1.5Gi}}"},
    {"rhel.10", parts({&kLinux}, {"disk-dedicatediothread", "secureboot", "architecture-amd64"}),
     "{cpu: {guest: 1}, memory: {guest: 1.5Gi}}"},
    {"rhel.8.dpdk", parts({&kLinux}, {"interface-multiqueue", "cpu-topology-spread-4"}),
     "{cpu: {guest: 8}, memory: {guest: 1.5Gi}}"},
    {"rhel.9.dpdk",
     parts({&kLinux}, {"disk-dedicatediothread", "interface-multiqueue", "cpu-topology-spread-4",
                       "secureboot", "architecture-amd64"}),
     "{cpu: {guest: 8}, memory: {guest: 1.5Gi}}"},
    {"rhel.9.realtime",
     parts({&kLinux}, {"disk-dedicatediothread", "interface-multiqueue", "cpu-topology-spread",
                       "realtime", "secureboot", "architecture-amd64"}),
     "{cpu: {guest: 4}, memory: {guest: 4Gi}}"},
    {"centos.stream9.dpdk",
     parts({&kLinux}, {"disk-dedicatediothread", "interface-multiqueue", "cpu-topology-spread-4"}),
     "{cpu: {guest: 8}, memory: {guest: 1.5Gi}}"},
    {"centos.stream9", parts({&kLinux}, {"disk-dedicatediothread"}),
     "{cpu: {guest: 1}, memory: {guest: 1.5Gi}}"},
    {"centos.stream9.desktop", parts({&kLinux}, {"disk-dedicatediothread", "tablet-virtio"}),
     "{cpu: {guest: 1}, memory: {guest: 1.5Gi}}"},
    {"opensuse.tumbleweed", kLinux, "{cpu: {guest: 1}, memory: {guest: 2Gi}}"},
    {"opensuse.leap", kLinux, "{cpu: {guest: 1}, memory: {guest: 2Gi}}"},
    {"sles", kLinux, "{cpu: {guest: 1}, memory: {guest: 2Gi}}"},
    {"oraclelinux", parts({&kLinux}, {"efi"}), "{cpu: {guest: 2}, memory: {guest: 4Gi}}"},
    {"legacy", {"diskbus-sata", "interfacemodel-e1000"}},
    {"centos.stream10", parts({&kLinux}, {"disk-dedicatediothread"}),
     "{cpu: {guest: 1}, memory: {guest: 1.5Gi}}"},
    {"centos.stream10.desktop", parts({&kLinux}, {"disk-dedicatediothread", "tablet-virtio"}),
     "{cpu: {guest: 1}, memory: {guest: 1.5Gi}}"},
    {"alpine", kLinux, "{cpu: {guest: 1}, memory: {guest: 512Mi}}"},
    {"cirros", kLinux, "{cpu: {guest: 1}, memory: {guest: 256Mi}}"},
};

}  // namespace

std::span<const Component> components() { return kComponents; }
std::span<const PreferenceRow> preference_rows() { return kRows; }

}  // namespace qmd::policy::presets::builtin
