// The built-in presets: KubeVirt common-instancetypes' u1 series and the OS preferences,
// restated in our subset of instancetype.kubevirt.io/v1beta1 and read by the same reader as
// user files (so a typo here fails the unit tests, not a user).
#include "policy/preset_model.hpp"

namespace qmd::policy::presets {
namespace {

// u1 ("universal"): general purpose, shared vCPUs; names and sizes as upstream.
constexpr const char* kInstancetypes = R"(---
kind: VirtualMachineClusterInstancetype
metadata: {name: u1.nano}
spec: {cpu: {guest: 1}, memory: {guest: 512Mi}}
---
kind: VirtualMachineClusterInstancetype
metadata: {name: u1.micro}
spec: {cpu: {guest: 1}, memory: {guest: 1Gi}}
---
kind: VirtualMachineClusterInstancetype
metadata: {name: u1.small}
spec: {cpu: {guest: 1}, memory: {guest: 2Gi}}
---
kind: VirtualMachineClusterInstancetype
metadata: {name: u1.medium}
spec: {cpu: {guest: 1}, memory: {guest: 4Gi}}
---
kind: VirtualMachineClusterInstancetype
metadata: {name: u1.2xmedium}
spec: {cpu: {guest: 2}, memory: {guest: 4Gi}}
---
kind: VirtualMachineClusterInstancetype
metadata: {name: u1.large}
spec: {cpu: {guest: 2}, memory: {guest: 8Gi}}
---
kind: VirtualMachineClusterInstancetype
metadata: {name: u1.xlarge}
spec: {cpu: {guest: 4}, memory: {guest: 16Gi}}
---
kind: VirtualMachineClusterInstancetype
metadata: {name: u1.2xlarge}
spec: {cpu: {guest: 8}, memory: {guest: 32Gi}}
---
kind: VirtualMachineClusterInstancetype
metadata: {name: u1.4xlarge}
spec: {cpu: {guest: 16}, memory: {guest: 64Gi}}
---
kind: VirtualMachineClusterInstancetype
metadata: {name: u1.8xlarge}
spec: {cpu: {guest: 32}, memory: {guest: 128Gi}}
)";

// Upstream's windows base preference, in three parts so that the secure variants can add
// preferredSmm to its features and preferredTPM to its devices.
constexpr const char* kWindowsBase = R"(  clock:
    preferredClockOffset: {utc: {}}
    preferredTimer:
      hpet: {present: false}
      pit: {tickPolicy: delay}
      rtc: {tickPolicy: catchup}
      hyperv: {}
  cpu: {preferredCPUTopology: preferSockets}
  features:
    preferredAcpi: {}
    preferredApic: {}
    preferredHyperv:
      relaxed: {}
      vapic: {}
      vpindex: {}
      spinlocks: {spinlocks: 8191}
      synic: {}
      synictimer: {direct: {}}
      tlbflush: {}
      frequencies: {}
      reenlightenment: {}
      ipi: {}
      runtime: {}
      reset: {}
)";

constexpr const char* kWindowsDevices = R"(  devices:
    preferredDiskBus: sata
    preferredInterfaceModel: e1000e
)";

// Upstream's secureboot and tpm components (windows.11, windows.2k22).
constexpr const char* kWindowsSecureBoot = R"(    preferredSmm: {}
  firmware: {preferredUseEfi: true, preferredUseSecureBoot: true}
)";
constexpr const char* kWindowsTpm = "    preferredTPM: {}\n";

// Upstream's linux base: virtio everywhere and an entropy source.
constexpr const char* kLinux = R"(  devices:
    preferredDiskBus: virtio
    preferredInterfaceModel: virtio
    preferredRng: {}
)";

std::string preference(const std::string& name, const std::string& body) {
  return "---\nkind: VirtualMachineClusterPreference\nmetadata: {name: " + name + "}\nspec:\n" +
         body;
}

std::string all_presets() {
  std::string out = kInstancetypes;
  out += "\n";
  for (const char* name : {"windows.10", "windows.2k16", "windows.2k19"}) {
    out += preference(name, std::string(kWindowsBase) + kWindowsDevices);
  }
  for (const char* name : {"windows.11", "windows.2k22"}) {
    out += preference(
        name, std::string(kWindowsBase) + kWindowsSecureBoot + kWindowsDevices + kWindowsTpm);
  }
  for (const char* name : {"linux", "fedora", "rhel.9", "ubuntu", "debian"}) {
    out += preference(name, kLinux);
  }
  return out;
}

}  // namespace

const char* builtin_presets_yaml() {
  static const std::string all = all_presets();
  return all.c_str();
}

}  // namespace qmd::policy::presets
