// Preset files as users write them: every v1beta1 field loads, a broken file fails only the
// VMs that name it, files replace built-ins, references name one of KubeVirt's kinds, and
// preference requirements and spread options hold. Exact messages and positions throughout.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <filesystem>
#include <fstream>

#include "policy/parse.hpp"
#include "policy/presets.hpp"

using namespace qmd::policy;

namespace {

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    static int n = 0;
    path = std::filesystem::temp_directory_path() /
           fmt::format("qmd-preset-files-{}-{}", ::getpid(), n++);
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(path / name) << text;
    return (path / name).string();
  }
};

// A VirtualMachine naming `refs` (lines from 5 on); `domain` goes under its domain.
std::string vm(const std::string& refs, const std::string& domain = "        devices: {}\n") {
  return "apiVersion: kubevirt.io/v1\nkind: VirtualMachine\nmetadata: {name: t}\nspec:\n" + refs +
         "  template:\n    spec:\n      domain:\n" + domain;
}

std::expected<VmSpec, SpecErrors> expand(const std::string& text, const PresetCatalog& catalog) {
  auto spec = parse_spec(text, "vm.yaml");
  REQUIRE_MESSAGE(spec, (spec ? "" : to_string(spec.error())));
  return apply_presets(*spec, catalog);
}

std::string result(const std::expected<VmSpec, SpecErrors>& r) {
  return r ? "(ok)\n" + to_string(r->warnings) : to_string(r.error());
}

PresetCatalog load(const TempDir& dir) {
  auto catalog = PresetCatalog::load(dir.path.string());
  REQUIRE_MESSAGE(catalog, (catalog ? "" : to_string(catalog.error())));
  return *catalog;
}

const PresetCatalog& builtins() {
  static const PresetCatalog catalog = *PresetCatalog::load();
  return catalog;
}

// Every field of VirtualMachinePreferenceSpec (v1beta1), in upstream's layout.
constexpr const char* kEveryPreferenceField = R"(apiVersion: instancetype.kubevirt.io/v1beta1
kind: VirtualMachinePreference
metadata:
  name: every
  namespace: default
  labels: {instancetype.kubevirt.io/os-type: linux}
  annotations: {openshift.io/display-name: Every field}
spec:
  annotations: {example.org/from-preference: "yes"}
  clock:
    preferredClockOffset: {timezone: Europe/Berlin}
    preferredTimer: {hpet: {present: false}, kvm: {present: true}, pit: {tickPolicy: delay},
                     rtc: {tickPolicy: catchup, track: guest}, hyperv: {present: true}}
  cpu:
    preferredCPUTopology: spread
    spreadOptions: {across: SocketsCoresThreads, ratio: 2}
    preferredCPUFeatures: [{name: invtsc, policy: require}]
  devices:
    preferredAutoattachGraphicsDevice: true
    preferredAutoattachMemBalloon: false
    preferredAutoattachPodInterface: true
    preferredAutoattachSerialConsole: true
    preferredAutoattachInputDevice: true
    preferredDisableHotplug: false
    preferredVirtualGPUOptions: {display: {enabled: true}}
    preferredSoundModel: ich9
    preferredUseVirtioTransitional: true
    preferredInputBus: virtio
    preferredInputType: tablet
    preferredDiskBus: virtio
    preferredLunBus: scsi
    preferredCdromBus: sata
    preferredDiskDedicatedIoThread: true
    preferredDiskCache: none
    preferredDiskIO: native
    preferredDiskBlockSize: {matchVolume: {enabled: true}}
    preferredInterfaceModel: virtio
    preferredRng: {}
    preferredBlockMultiQueue: true
    preferredNetworkInterfaceMultiQueue: true
    preferredTPM: {persistent: true}
    preferredInterfaceMasquerade: {}
    preferredPanicDeviceModel: hyperv
    preferredVideoType: virtio
  features:
    preferredAcpi: {}
    preferredApic: {enabled: true, endOfInterrupt: false}
    preferredHyperv: {relaxed: {}, evmcs: {enabled: false}, vendorid: {vendorid: qmd}}
    preferredKvm: {hidden: false}
    preferredPvspinlock: {enabled: true}
    preferredSmm: {}
  firmware:
    preferredUseBios: false
    preferredUseBiosSerial: false
    preferredUseEfi: true
    preferredUseSecureBoot: false
    preferredEfi: {secureBoot: true, persistent: true}
  machine: {preferredMachineType: q35}
  volumes: {preferredStorageClassName: fast}
  preferredSubdomain: lab
  preferredTerminationGracePeriodSeconds: 120
  requirements: {cpu: {guest: 2}, memory: {guest: 1Gi}, architecture: amd64}
  preferSpreadSocketToCoreRatio: 4
  preferredArchitecture: amd64
)";

// Every field of VirtualMachineInstancetypeSpec (v1beta1) that one host can take.
constexpr const char* kEveryInstancetypeField = R"(apiVersion: instancetype.kubevirt.io/v1beta1
kind: VirtualMachineClusterInstancetype
metadata: {name: every}
spec:
  nodeSelector: {disktype: ssd}
  schedulerName: custom
  cpu:
    guest: 4
    model: host-passthrough
    dedicatedCPUPlacement: true
    numa: {guestMappingPassthrough: {}}
    isolateEmulatorThread: true
    realtime: {mask: "0"}
    maxSockets: 8
  memory:
    guest: 4Gi
    hugepages: {pageSize: 2Mi}
    overcommitPercent: 10
    maxGuest: 8Gi
  ioThreadsPolicy: auto
  ioThreads: {supplementalPoolThreadCount: 2}
  launchSecurity: {sev: {policy: {encryptedState: true}, attestation: {}}}
  annotations: {cpu-quota.crio.io: disable}
)";

}  // namespace

TEST_CASE("every v1beta1 field loads; those without effect here warn on each VM using them") {
  TempDir dir;
  const auto pref = dir.write("pref.yaml", kEveryPreferenceField);
  const auto type = dir.write("type.yaml", kEveryInstancetypeField);
  const auto catalog = load(dir);
  CHECK(catalog.failures().empty());
  auto out = expand(vm("  instancetype: {name: every}\n  preference: {name: every}\n"), catalog);
  REQUIRE_MESSAGE(out, result(out));
  const auto& d = out->domain;
  // 4 vCPUs spread across sockets, cores and 2 threads, 2 cores a socket.
  CHECK(fmt::format("{}/{}/{}", *d.cpu.sockets, *d.cpu.cores, *d.cpu.threads) == "1/2/2");
  CHECK(d.firmware.bootloader == BootloaderKind::efi);
  CHECK(d.firmware.efi.secure_boot == true);  // preferredEfi wins over preferredUseSecureBoot
  CHECK(d.firmware.efi.persistent == true);
  CHECK(d.clock.timezone == "Europe/Berlin");
  CHECK(out->termination_grace_period_seconds == 120);
  CHECK(out->annotations.at("example.org/from-preference") == "yes");
  CHECK(d.devices.use_virtio_transitional == true);
  CHECK(d.cpu.numa_guest_mapping_passthrough == true);
  CHECK(d.launch_security.kind == LaunchSecurityKind::sev);
  CHECK(d.launch_security.sev_policy == 0x5u);
  // The domain fields a preference may prefer: video type, pvspinlock, CPU features, subdomain.
  CHECK(d.devices.video_type == "virtio");
  REQUIRE(d.features.pvspinlock);
  CHECK(d.features.pvspinlock->enabled == true);
  REQUIRE(d.cpu.features.size() == 1);
  CHECK(d.cpu.features[0].name == "invtsc");
  CHECK(out->subdomain == "lab");
  CHECK(to_string(out->warnings) ==
        fmt::format(
            "spec.cpu.realtime: instancetype \"every\": is not applied by qmd yet (no realtime "
            "vCPU scheduling); ignored ({0}:13:5)\n"
            "spec.memory.overcommitPercent: instancetype \"every\": has no effect on one host "
            "(qmd reserves no memory for a VM, so there is nothing to overcommit); ignored "
            "({0}:18:5)\n"
            "spec.ioThreads: instancetype \"every\": is not applied by qmd (no supplemental "
            "iothread pool); ignored ({0}:21:3)\n"
            "spec.launchSecurity.sev.attestation: instancetype \"every\": is not applied by qmd "
            "(no remote attestation); ignored ({0}:22:58)\n"
            "spec.nodeSelector: instancetype \"every\": has no effect on one host (it places or "
            "schedules the VM in a cluster); ignored ({0}:5:3)\n"
            "spec.schedulerName: instancetype \"every\": has no effect on one host (it places or "
            "schedules the VM in a cluster); ignored ({0}:6:3)\n"
            "spec.annotations: instancetype \"every\": has no effect on one host (they annotate "
            "the virt-launcher pod); ignored ({0}:23:3)\n"
            "spec.devices.preferredDisableHotplug: preference \"every\": is not applied by qmd "
            "yet; ignored ({1}:24:5)\n"
            "spec.devices.preferredVirtualGPUOptions: preference \"every\": is not applied by qmd "
            "yet; ignored ({1}:25:5)\n"
            "spec.devices.preferredSoundModel: preference \"every\": is not applied by qmd yet; "
            "ignored ({1}:26:5)\n"
            "spec.devices.preferredDiskBlockSize: preference \"every\": is not applied by qmd "
            "yet; ignored ({1}:36:5)\n"
            "spec.devices.preferredPanicDeviceModel: preference \"every\": is not applied by qmd "
            "yet; ignored ({1}:43:5)\n"
            "spec.devices.preferredInterfaceMasquerade: preference \"every\": has no effect here "
            "(qmd's default interface is masquerade already) ({1}:42:5)\n"
            "spec.features.preferredApic.endOfInterrupt: preference \"every\": is not applied by "
            "qmd yet; ignored ({1}:47:36)\n"
            "spec.firmware.preferredUseBiosSerial: preference \"every\": is not applied by qmd "
            "yet; ignored ({1}:54:5)\n"
            "spec.volumes.preferredStorageClassName: preference \"every\": has no effect on one "
            "host (it places or schedules the VM in a cluster); ignored ({1}:59:13)\n",
            type, pref));
}

TEST_CASE("a broken file fails only the VMs that name it, and the listing shows it") {
  TempDir dir;
  dir.write("good.yaml", "kind: VirtualMachinePreference\nmetadata: {name: good}\nspec: {}\n");
  const auto bad = dir.write("bad.yaml", R"(kind: VirtualMachineClusterPreference
metadata: {name: bad}
spec:
  devices: {preferredDiskBuss: sata}
)");
  const auto syntax = dir.write("syntax.yaml", "kind: [unclosed\n");
  const auto catalog = load(dir);
  CHECK(result(expand(vm("  preference: {name: good}\n"), catalog)) == "(ok)\n");
  CHECK(result(expand(vm("  preference: {name: bad}\n"), catalog)) ==
        fmt::format("spec.preference.name: preference \"bad\" did not load from {0}; fix the "
                    "file (its errors follow) (vm.yaml:5:16)\n"
                    "spec.devices.preferredDiskBuss: unknown field \"preferredDiskBuss\" (did you "
                    "mean \"preferredDiskBus\"?) ({0}:4:13)\n",
                    bad));
  const auto ghost = result(expand(vm("  preference: {name: ghost}\n"), catalog));
  CHECK(ghost.starts_with("spec.preference.name: unknown preference \"ghost\"; available: "));
  CHECK(
      ghost.ends_with(fmt::format(" (preset files that failed to load, see `qmctl host`: {}, "
                                  "{}) (vm.yaml:5:16)\n",
                                  bad, syntax)));
  // A built-in is not touched by the broken files.
  CHECK(result(expand(vm("  preference: {name: linux}\n"), catalog)) == "(ok)\n");
  std::string failed;
  for (const auto& f : catalog.failures()) {
    failed += f.file + ": " + to_string(f.errors);
  }
  CHECK(failed == fmt::format("{0}: spec.devices.preferredDiskBuss: unknown field "
                              "\"preferredDiskBuss\" (did you mean \"preferredDiskBus\"?) "
                              "({0}:4:13)\n"
                              "{1}: end of sequence flow not found ({1}:2:1)\n",
                              bad, syntax));
  std::string listed;
  for (const auto& p : catalog.listing()) {
    if (p.origin != "built-in") {
      listed += fmt::format("{} {} [{}] {} errors={}\n", p.family, p.name, p.kind, p.origin,
                            p.errors.size());
    }
  }
  CHECK(listed == fmt::format("preference bad [] {} errors=1\n"
                              "preference good [VirtualMachinePreference] {} errors=0\n",
                              bad, (dir.path / "good.yaml").string()));
}

TEST_CASE("a file replaces a built-in of its family and name; two files of one name clash") {
  TempDir dir;
  const auto mine = dir.write("a-linux.yaml", R"(kind: VirtualMachinePreference
metadata: {name: linux}
spec: {devices: {preferredDiskBus: sata}}
)");
  const auto again = dir.write("b-linux.yaml", R"(kind: VirtualMachinePreference
metadata: {name: linux}
spec: {}
)");
  dir.write("u1.yaml", R"(kind: VirtualMachineInstancetype
metadata: {name: u1.small}
spec: {cpu: {guest: 3}, memory: {guest: 3Gi}}
)");
  const auto catalog = load(dir);
  CHECK(fmt::format("{}", fmt::join(catalog.notes(), "\n")) ==
        fmt::format("preference \"linux\" from {} replaces the built-in one\n"
                    "instancetype \"u1.small\" from {} replaces the built-in one",
                    mine, (dir.path / "u1.yaml").string()));
  auto small = expand(vm("  instancetype: {name: u1.small}\n"), catalog);
  REQUIRE(small);
  CHECK(small->domain.cpu.sockets == 3u);
  CHECK(result(expand(vm("  preference: {name: linux}\n"), catalog)) ==
        fmt::format("spec.preference.name: preference \"linux\" did not load from {0}; fix the "
                    "file (its errors follow) (vm.yaml:5:16)\n"
                    "metadata.name: preference \"linux\" is defined both here and in {0}; keep "
                    "one of them ({1}:2:18)\n",
                    mine, again));
}

TEST_CASE("instancetype.kind and preference.kind name one of KubeVirt's four kinds") {
  auto spec =
      parse_spec(vm("  instancetype: {name: u1.small, kind: Bogus}\n"
                    "  preference: {name: linux, kind: VirtualMachineClusterInstancetype}\n"),
                 "vm.yaml");
  REQUIRE_FALSE(spec);
  CHECK(to_string(spec.error()) ==
        "spec.instancetype.kind: \"Bogus\" is not an instancetype kind; use "
        "VirtualMachineClusterInstancetype (the default) or VirtualMachineInstancetype "
        "(vm.yaml:5:40)\n"
        "spec.preference.kind: \"VirtualMachineClusterInstancetype\" is not a preference kind; "
        "use VirtualMachineClusterPreference (the default) or VirtualMachinePreference "
        "(vm.yaml:6:35)\n");
  for (const char* kind : {"VirtualMachineInstancetype", "VirtualMachineClusterInstancetype"}) {
    CAPTURE(kind);
    auto ok =
        expand(vm(fmt::format("  instancetype: {{name: u1.small, kind: {}}}\n", kind)), builtins());
    CHECK(ok);
  }
}

TEST_CASE("preference requirements: errors name the requirement and what falls short") {
  SUBCASE("an instancetype too small") {
    CHECK(result(expand(vm("  instancetype: {name: u1.small}\n  preference: {name: windows.11}\n"),
                        builtins())) ==
          "spec.instancetype.name: instancetype \"u1.small\" provides 1 vCPU, but preference "
          "\"windows.11\" requires at least 2 vCPUs (requirements.cpu.guest of the built-in "
          "preference); choose a larger instancetype or another preference (vm.yaml:5:18)\n"
          "spec.instancetype.name: instancetype \"u1.small\" provides 2Gi of memory, but "
          "preference \"windows.11\" requires at least 4Gi (requirements.memory.guest of the "
          "built-in preference); choose a larger instancetype or another preference "
          "(vm.yaml:5:18)\n");
  }
  SUBCASE("a VM too small, against a file's requirement") {
    TempDir dir;
    const auto file = dir.write("p.yaml", R"(kind: VirtualMachinePreference
metadata: {name: big}
spec:
  requirements:
    cpu: {guest: 4}
    memory: {guest: 1.5Gi}
    architecture: arm64
)");
    CHECK(result(expand(vm("  preference: {name: big}\n",
                           "        cpu: {cores: 2}\n        memory: {guest: 1Gi}\n"),
                        load(dir))) ==
          fmt::format("spec.template.spec.domain.cpu.cores: the VM has 2 vCPUs (sockets × cores "
                      "× threads), but preference \"big\" requires at least 4 vCPUs "
                      "(requirements.cpu.guest at {0}:5:18); give it more vCPUs or choose another "
                      "preference (vm.yaml:9:15)\n"
                      "spec.template.spec.domain.memory.guest: the VM has 1Gi of memory, but "
                      "preference \"big\" requires at least 1.5Gi (requirements.memory.guest at "
                      "{0}:6:21); give it more memory or choose another preference "
                      "(vm.yaml:10:18)\n"
                      "spec.preference.name: preference \"big\" requires architecture arm64 "
                      "(requirements.architecture at {0}:7:19), but this host runs amd64 guests "
                      "only; choose an amd64 preference (vm.yaml:5:16)\n",
                      file));
  }
  SUBCASE("a VM that sets no vCPUs has 1") {
    CHECK(result(expand(vm("  preference: {name: windows.11}\n", "        memory: {guest: 4Gi}\n"),
                        builtins())) ==
          "spec.preference.name: the VM has 1 vCPU (the default when domain.cpu sets none), but "
          "preference \"windows.11\" requires at least 2 vCPUs (requirements.cpu.guest of the "
          "built-in preference); give it more vCPUs or choose another preference "
          "(vm.yaml:5:16)\n");
  }
  SUBCASE("memory requested through resources") {
    CHECK(result(expand(vm("  preference: {name: windows.2k19}\n",
                           "        resources: {requests: {memory: 1Gi}}\n"),
                        builtins())) ==
          "spec.template.spec.domain.resources.requests.memory: the VM requests 1Gi of memory, "
          "but preference \"windows.2k19\" requires at least 2Gi (requirements.memory.guest of "
          "the built-in preference); give it more memory or choose another preference "
          "(vm.yaml:9:32)\n");
  }
  SUBCASE("met requirements are silent") {
    CHECK(result(expand(vm("  instancetype: {name: u1.large}\n  preference: {name: windows.11}\n"),
                        builtins())) == "(ok)\n");
  }
}

TEST_CASE("spread topology: ratio and across, and a count the spread cannot divide") {
  TempDir dir;
  dir.write("s.yaml", R"(kind: VirtualMachinePreference
metadata: {name: spread4}
spec:
  cpu: {preferredCPUTopology: spread, spreadOptions: {ratio: 4}}
---
kind: VirtualMachinePreference
metadata: {name: coresthreads}
spec:
  cpu: {preferredCPUTopology: spread, spreadOptions: {across: CoresThreads}}
---
kind: VirtualMachinePreference
metadata: {name: ratio3}
spec: {cpu: {preferredCPUTopology: preferSpread}, preferSpreadSocketToCoreRatio: 3}
)");
  const auto catalog = load(dir);
  auto topology = [&](const char* type, const char* pref) {
    auto out = expand(
        vm(fmt::format("  instancetype: {{name: {}}}\n  preference: {{name: {}}}\n", type, pref)),
        catalog);
    if (!out) {
      return to_string(out.error());
    }
    const auto& c = out->domain.cpu;
    return fmt::format("{}/{}/{}", *c.sockets, *c.cores, *c.threads);
  };
  CHECK(topology("u1.2xlarge", "spread4") == "2/4/1");
  CHECK(topology("u1.2xlarge", "coresthreads") == "1/4/2");
  CHECK(topology("d1.2xlarge", "ratio3") ==
        "spec.preference.name: preference \"ratio3\" spreads vCPUs across SocketsCores with 3 "
        "vCPUs per socket, which does not divide the instancetype's 8 vCPUs; choose an "
        "instancetype whose vCPUs it divides (vm.yaml:6:16)\n");
}

TEST_CASE("refused values in preset files name the file, line and column") {
  TempDir dir;
  const auto file = dir.write("bad.yaml", R"(apiVersion: instancetype.kubevirt.io/v2
kind: VirtualMachineInstancetype
metadata: {name: bad}
spec:
  cpu: {guest: 1}
  memory: {guest: 1Gi, overcommitPercent: 150}
  gpus: [{name: gpu1, deviceName: nvidia.com/GA102}]
---
kind: VirtualMachinePreference
metadata: {name: bad}
spec:
  cpu: {preferredCPUTopology: sideways, spreadOptions: {across: Diagonal, ratio: 0}}
  devices: {preferredVideoType: cirrus}
  preferredSubdomain: Lab_1
)");
  const auto catalog = load(dir);
  std::string failed;
  for (const auto& f : catalog.failures()) {
    failed += to_string(f.errors);
  }
  CHECK(failed ==
        fmt::format("apiVersion: \"instancetype.kubevirt.io/v2\" is not supported: use "
                    "instancetype.kubevirt.io/v1beta1 or instancetype.kubevirt.io/v1 or "
                    "instancetype.kubevirt.io/v1alpha2 or instancetype.kubevirt.io/v1alpha1 "
                    "({0}:1:13)\n"
                    "spec.memory.overcommitPercent: 150 is not a percentage from 0 to 100 "
                    "({0}:6:43)\n"
                    "spec.gpus: device passthrough is not supported by qmd; remove it or use "
                    "another instancetype ({0}:7:3)\n"
                    "spec.cpu.preferredCPUTopology: \"sideways\" is not one of sockets, cores, "
                    "threads, spread, any, preferSockets, preferCores, preferThreads, "
                    "preferSpread, preferAny ({0}:12:31)\n"
                    "spec.cpu.spreadOptions.across: \"Diagonal\" is not one of SocketsCores, "
                    "SocketsCoresThreads, CoresThreads ({0}:12:65)\n"
                    "spec.cpu.spreadOptions.ratio: must be at least 1 ({0}:12:82)\n"
                    "spec.devices.preferredVideoType: \"cirrus\" is not one of vga, virtio, "
                    "bochs, ramfb ({0}:13:33)\n"
                    "spec.preferredSubdomain: \"Lab_1\" is not a DNS label: use at most 63 "
                    "lowercase letters, digits and '-', starting and ending with a letter or "
                    "digit ({0}:14:23)\n",
                    file));
}

TEST_CASE("preferredLaunchSecurity: upstream's empty form warns; a named one fills the VM") {
  TempDir dir;
  const auto file = dir.write("ls.yaml", R"(kind: VirtualMachinePreference
metadata: {name: empty}
spec:
  preferredLaunchSecurity: {}
---
kind: VirtualMachinePreference
metadata: {name: snp}
spec: {preferredLaunchSecurity: {snp: {}}}
)");
  const auto catalog = load(dir);
  CHECK(result(expand(vm("  preference: {name: empty}\n"), catalog)) ==
        fmt::format("(ok)\nspec.preferredLaunchSecurity: preference \"empty\": names no "
                    "technology (sev, snp or tdx); the VM keeps its own ({}:4:28)\n",
                    file));
  auto snp = expand(vm("  preference: {name: snp}\n"), catalog);
  REQUIRE(snp);
  CHECK(snp->domain.launch_security.kind == LaunchSecurityKind::snp);
}

TEST_CASE("a namespaced and a cluster preset of one name are two presets, picked by kind") {
  TempDir dir;
  dir.write("ns.yaml", R"(kind: VirtualMachineInstancetype
metadata: {name: csmall}
spec: {cpu: {guest: 1}, memory: {guest: 1Gi}}
)");
  dir.write("cluster.yaml", R"(kind: VirtualMachineClusterInstancetype
metadata: {name: csmall}
spec: {cpu: {guest: 2}, memory: {guest: 2Gi}}
)");
  const auto catalog = load(dir);
  CHECK(catalog.failures().empty());
  const auto cpus = [&](const std::string& kind) {
    auto spec = expand(vm("  instancetype: {name: csmall" + kind + "}\n"), catalog);
    REQUIRE(spec);
    return spec->domain.cpu.sockets.value_or(0);
  };
  CHECK(cpus(", kind: VirtualMachineInstancetype") == 1u);
  CHECK(cpus(", kind: VirtualMachineClusterInstancetype") == 2u);
  CHECK(cpus("") == 2u);  // KubeVirt's default kind is the cluster one
  // qmctl host lists both.
  std::string listed;
  for (const auto& p : catalog.listing()) {
    if (p.origin != "built-in") {
      listed += fmt::format("{} {} [{}] {}\n", p.family, p.name, p.kind,
                            std::filesystem::path(p.origin).filename().string());
    }
  }
  CHECK(listed ==
        "instancetype csmall [VirtualMachineClusterInstancetype] cluster.yaml\n"
        "instancetype csmall [VirtualMachineInstancetype] ns.yaml\n");
}
