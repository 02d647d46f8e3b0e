#pragma once
// Upstream's preference values, as facts (test_preset_upstream_facts.cpp compares every
// built-in with them; test_preset_fixtures_argv.cpp renders each as an upstream-layout file).
//
// Read from KubeVirt's common-instancetypes, whose sources compose each preset from
// kustomize components. The stored copy consulted holds files from several commits, so each
// fact names the file and commit it was read at:
//   windows base        preferences/windows/base/kustomization.yaml @450d8cb6 (hyperv,
//                       cpu-topology-sockets, diskbus-sata, interfacemodel-e1000e, tablet-usb,
//                       termination-grace-period) and base.yaml @75eeca7f (the Hyper-V set)
//   windows.10          windows/10/kustomization.yaml @163abde9 (requirements, tpm, secureboot);
//                       requirements 1/2Gi @84f941e9; cores topology for client Windows
//   windows.11          windows/11/kustomization.yaml @16096fb1 (tpm, secureboot); requirements
//                       2/4Gi @c65b9b1d; efi-persisted as 2k22/2k25 @5e24fe7e (the copy
//                       @16096fb1 predates efi-persisted); cores topology for client Windows
//   windows.2k16, 2k19  requirements + secureboot (2k19 @56d56658); requirements 1/2Gi @84f941e9
//   windows.2k22, 2k25  requirements, efi-persisted, tpm, secureboot (2k25 @5e24fe7e)
//   *.virtio            + diskbus-virtio-blk, interfacemodel-virtio-net, tablet-virtio
//                       (windows/2k25_virtio/kustomization.yaml @0a36b01e)
//   components          tpm.yaml @747364a3 (persistent), efi-persisted/efi.yaml @896f51d8,
//                       efi-secureboot @e586469d, cpu-topology-cores @6e08324c,
//                       tablet-usb @db1b7245, secureboot (preferredSmm + preferredEfi)
//   linux preferences   the v1beta1 bundle of release v0.3.3 (kubevirt/ssp-operator
//                       data/common-instancetypes-bundle @d8228566): buses, rng, iothread,
//                       multiqueue, desktop tablets, requirements; debian on linux-efi
//                       (debian/kustomization.yaml @3c5e5f98, requirements 1/512Mi @78479803);
//                       fedora/rhel.9 architecture amd64 (preferred + required)
//   opensuse.tumbleweed opensuse/tumbleweed/kustomization.yaml @45152090 (virtio, virtio-net,
//                       rng), requirements 1/2Gi @d080fdd0
//   sles                sles/amd64/kustomization.yaml @cf0cbc76 (linux), requirements 1/2Gi
//                       @dfd4281a
//   oraclelinux         oraclelinux/kustomization.yaml @9bbd7f23 (linux-efi), requirements 2/4Gi
//                       @8288bbfb
//   windows.2k12        windows/2k12/kustomization.yaml @2d7e397b (the windows base; its
//                       deprecated component only labels it), requirements 1/512Mi @450d8cb6
//   centos.stream10     centos/10_stream/kustomization.yaml @bebb43fc (centos base, rng,
//                       disk-dedicatediothread; .desktop adds tablet-virtio), requirements
//                       1/1.5Gi @84f941e9
//   legacy              legacy/kustomization.yaml @51a1a78e (sata, e1000)
//   rhel.10             rhel/10/amd64/kustomization.yaml @545533f5 (rhel base = linux,
//                       disk-dedicatediothread, efi, rng, secureboot; amd64); values as
//                       rendered in release v1.7.0's bundle (kubevirt/kubevirt
//                       pkg/virt-operator/resource/generate/components/data/common-instancetypes/
//                       common-clusterpreferences-bundle.yaml @02dc55e4): EFI + secure boot +
//                       SMM, architecture amd64, requirements 1/1.5Gi
//   opensuse.leap       opensuse/leap/kustomization.yaml @d080fdd0 (virtio, virtio-net, rng),
//                       requirements 1/2Gi from the v1.7.0 bundle @02dc55e4
//   windows.2k12.virtio windows/2k12_virtio/kustomization.yaml @c5aa0872 (2k12 +
//                       diskbus-virtio-blk, interfacemodel-virtio-net, tablet-virtio),
//                       requirements 1/512Mi (v1.7.0 bundle @02dc55e4)
//   *.dpdk              the v1.7.0 bundle @02dc55e4 (rhel.8.dpdk, rhel.9.dpdk,
//                       centos.stream9.dpdk): the OS's base plus NIC multiqueue and a spread
//                       topology across SocketsCoresThreads with ratio 4; requirements 8/1.5Gi
//   rng, multiqueue     rhel.7/8 (and .desktop), alpine and cirros are built on the linux base
//                       (alpine/kustomization.yaml @f31cac73, cirros @2e99c7b3, rhel/base
//                       @f31cac73), so they carry its RNG; fedora/amd64/kustomization.yaml
//                       @2e99c7b3 is linux + secureboot, without NIC multiqueue (both as the
//                       v1.7.0 bundle @02dc55e4)
//   linux.virtiotransitional  the v1.7.0 bundle @02dc55e4: linux plus
//                       preferredUseVirtioTransitional
//   rhel.9.realtime     the v1.7.0 bundle @02dc55e4: rhel.9 plus NIC multiqueue, spread across
//                       SocketsCoresThreads, no graphics, no balloon, a serial console;
//                       requirements 4/4Gi
//   windows.*.virtio    preferredVideoType: virtio on every one, as the v1.7.0 bundle @02dc55e4
//                       renders them (videotype-virtio component @6cec5835)
//   windows.2k3, .xp    windows/2k3/kustomization.yaml @174e54fa (base, pcihole64,
//                       interfacemodel-rtl8139), windows/xp/kustomization.yaml @f31cac73 (base,
//                       pcihole64); components/pcihole64/pcihole64.yaml @f31cac73 (the
//                       kubevirt.io/disablePCIHole64 annotation); requirements 1/256Mi
//                       @84f941e9 (2k3) and 1/128Mi @2e6be060 (xp)
//   windows.2k8, .7     the v1.7.0 bundle @02dc55e4: the windows base (BIOS, no TPM); 2k8 with
//                       an e1000 NIC and requirements 1/512Mi, 7 with 1/2Gi; .virtio as above
//   instancetypes       README.md @02d112e6 (series and sizes), cx/1/sizes.yaml @cd946235,
//                       cx/1/cx1.yaml @55be4883, d/1/d1.yaml @754a058d + sizes @1fe0c1d5,
//                       m/1/m1.yaml @d1fcb24e, n/1/n1.yaml @5b4cfa70, o/1/o1.yaml @216ef441,
//                       rt/1/rt1.yaml + sizes @193b4ebf
#include <string_view>

namespace qmd::test::upstream {

// One preference, in upstream's terms. Empty strings and zeros mean "not set".
struct PreferenceFact {
  const char* name;
  const char* disk_bus;
  const char* interface_model;
  const char* topology;
  const char* efi;  // "" (not set), "sb", "sb+persistent", "no-sb"
  bool smm, tpm_persistent, hyperv_windows, rng, dedicated_io_thread, multiqueue;
  const char* input;  // "" | "autoattach" | "autoattach,virtio,tablet"
  int grace;          // preferredTerminationGracePeriodSeconds
  unsigned req_cpu;
  const char* req_memory;
  const char* arch;  // preferredArchitecture and requirements.architecture
  // The rest, as space-separated tokens: "spread=<across>/<ratio or ->" (spreadOptions),
  // "graphics=false", "balloon=false", "serial=true" (preferredAutoattach*),
  // "transitional=true" (preferredUseVirtioTransitional), "video=virtio" (preferredVideoType),
// "annotation:<key>=<value>" (spec.annotations).
  const char* extra;
};

inline constexpr const char* kUsb = "autoattach";
inline constexpr const char* kVirtioTablet = "autoattach,virtio,tablet";
inline constexpr const char* kVirtioVideo = "video=virtio";
inline constexpr const char* kNoPciHole64 = "annotation:kubevirt.io/disablePCIHole64=true";
inline constexpr const char* kSpread4 = "spread=SocketsCoresThreads/4";
inline constexpr const char* kRealtime =
    "spread=SocketsCoresThreads/- graphics=false balloon=false serial=true";

// clang-format off
inline const PreferenceFact kPreferences[] = {
 // name                  disk     nic      topology  efi             smm   tpm    hyperv rng    iothr  mq     input          grace cpu mem      arch     extra
 {"windows.10",          "sata",  "e1000e", "cores",   "sb",           true, true,  true,  false, false, false, kUsb,          3600, 1, "2Gi",   "", ""},
 {"windows.10.virtio",   "virtio","virtio", "cores",   "sb",           true, true,  true,  false, false, false, kVirtioTablet, 3600, 1, "2Gi",   "", kVirtioVideo},
 {"windows.11",          "sata",  "e1000e", "cores",   "sb+persistent",true, true,  true,  false, false, false, kUsb,          3600, 2, "4Gi",   "", ""},
 {"windows.11.virtio",   "virtio","virtio", "cores",   "sb+persistent",true, true,  true,  false, false, false, kVirtioTablet, 3600, 2, "4Gi",   "", kVirtioVideo},
 {"windows.2k16",        "sata",  "e1000e", "sockets", "sb",           true, false, true,  false, false, false, kUsb,          3600, 1, "2Gi",   "", ""},
 {"windows.2k16.virtio", "virtio","virtio", "sockets", "sb",           true, false, true,  false, false, false, kVirtioTablet, 3600, 1, "2Gi",   "", kVirtioVideo},
 {"windows.2k19",        "sata",  "e1000e", "sockets", "sb",           true, false, true,  false, false, false, kUsb,          3600, 1, "2Gi",   "", ""},
 {"windows.2k19.virtio", "virtio","virtio", "sockets", "sb",           true, false, true,  false, false, false, kVirtioTablet, 3600, 1, "2Gi",   "", kVirtioVideo},
 {"windows.2k22",        "sata",  "e1000e", "sockets", "sb+persistent",true, true,  true,  false, false, false, kUsb,          3600, 1, "2Gi",   "", ""},
 {"windows.2k22.virtio", "virtio","virtio", "sockets", "sb+persistent",true, true,  true,  false, false, false, kVirtioTablet, 3600, 1, "2Gi",   "", kVirtioVideo},
 {"windows.2k25",        "sata",  "e1000e", "sockets", "sb+persistent",true, true,  true,  false, false, false, kUsb,          3600, 1, "2Gi",   "", ""},
 {"windows.2k25.virtio", "virtio","virtio", "sockets", "sb+persistent",true, true,  true,  false, false, false, kVirtioTablet, 3600, 1, "2Gi",   "", kVirtioVideo},
 {"linux",               "virtio","virtio", "",        "",             false,false, false, true,  false, false, "",            0,    0, "",      "", ""},
 {"linux.efi",           "virtio","virtio", "",        "no-sb",        false,false, false, true,  false, false, "",            0,    0, "",      "", ""},
 {"linux.virtiotransitional","virtio","virtio","",    "",             false,false, false, true,  false, false, "",            0,    0, "",      "",      "transitional=true"},
 {"debian",              "virtio","virtio", "",        "no-sb",        false,false, false, true,  false, false, "",            0,    1, "512Mi", "", ""},
 {"ubuntu",              "virtio","virtio", "",        "",             false,false, false, true,  false, false, "",            0,    1, "2Gi",   "", ""},
 {"fedora",              "virtio","virtio", "",        "sb",           true, false, false, true,  false, false, "",            0,    1, "2Gi",   "amd64", ""},
 {"rhel.7",              "virtio","virtio", "",        "",             false,false, false, true,  false, false, "",            0,    1, "1Gi",   "", ""},
 {"rhel.7.desktop",      "virtio","virtio", "",        "",             false,false, false, true,  false, false, kVirtioTablet, 0,    1, "1Gi",   "", ""},
 {"rhel.8",              "virtio","virtio", "",        "",             false,false, false, true,  false, false, "",            0,    1, "1.5Gi", "", ""},
 {"rhel.8.desktop",      "virtio","virtio", "",        "",             false,false, false, true,  false, false, kVirtioTablet, 0,    1, "1.5Gi", "", ""},
 {"rhel.9",              "virtio","virtio", "",        "sb",           true, false, false, true,  true,  false, "",            0,    1, "1.5Gi", "amd64", ""},
 {"rhel.9.desktop",      "virtio","virtio", "",        "sb",           true, false, false, true,  true,  false, kVirtioTablet, 0,    1, "1.5Gi", "amd64", ""},
 {"rhel.10",             "virtio","virtio", "",        "sb",           true, false, false, true,  true,  false, "",            0,    1, "1.5Gi", "amd64", ""},
 {"rhel.8.dpdk",         "virtio","virtio", "spread",  "",             false,false, false, true,  false, true,  "",            0,    8, "1.5Gi", "",      kSpread4},
 {"rhel.9.dpdk",         "virtio","virtio", "spread",  "sb",           true, false, false, true,  true,  true,  "",            0,    8, "1.5Gi", "amd64", kSpread4},
 {"rhel.9.realtime",     "virtio","virtio", "spread",  "sb",           true, false, false, true,  true,  true,  "",            0,    4, "4Gi",   "amd64", kRealtime},
 {"centos.stream9.dpdk", "virtio","virtio", "spread",  "",             false,false, false, true,  true,  true,  "",            0,    8, "1.5Gi", "",      kSpread4},
 {"centos.stream9",      "virtio","virtio", "",        "",             false,false, false, true,  true,  false, "",            0,    1, "1.5Gi", "", ""},
 {"centos.stream9.desktop","virtio","virtio","",       "",             false,false, false, true,  true,  false, kVirtioTablet, 0,    1, "1.5Gi", "", ""},
 {"windows.2k12",        "sata",  "e1000e", "sockets", "",             false,false, true,  false, false, false, kUsb,          3600, 1, "512Mi", "", ""},
 {"windows.2k12.virtio", "virtio","virtio", "sockets", "",             false,false, true,  false, false, false, kVirtioTablet, 3600, 1, "512Mi", "", kVirtioVideo},
 {"windows.2k8",         "sata",  "e1000",  "sockets", "",             false,false, true,  false, false, false, kUsb,          3600, 1, "512Mi", "", ""},
 {"windows.2k8.virtio",  "virtio","virtio", "sockets", "",             false,false, true,  false, false, false, kVirtioTablet, 3600, 1, "512Mi", "", kVirtioVideo},
 {"windows.2k3",         "sata",  "rtl8139","sockets", "",             false,false, true,  false, false, false, kUsb,          3600, 1, "256Mi", "", kNoPciHole64},
 {"windows.xp",          "sata",  "e1000e", "sockets", "",             false,false, true,  false, false, false, kUsb,          3600, 1, "128Mi", "", kNoPciHole64},
 {"windows.7",           "sata",  "e1000e", "sockets", "",             false,false, true,  false, false, false, kUsb,          3600, 1, "2Gi",   "", ""},
 {"windows.7.virtio",    "virtio","virtio", "sockets", "",             false,false, true,  false, false, false, kVirtioTablet, 3600, 1, "2Gi",   "", kVirtioVideo},
 {"centos.stream10",     "virtio","virtio", "",        "",             false,false, false, true,  true,  false, "",            0,    1, "1.5Gi", "", ""},
 {"centos.stream10.desktop","virtio","virtio","",      "",             false,false, false, true,  true,  false, kVirtioTablet, 0,    1, "1.5Gi", "", ""},
 {"opensuse.tumbleweed", "virtio","virtio", "",        "",             false,false, false, true,  false, false, "",            0,    1, "2Gi",   "", ""},
 {"opensuse.leap",       "virtio","virtio", "",        "",             false,false, false, true,  false, false, "",            0,    1, "2Gi",   "", ""},
 {"sles",                "virtio","virtio", "",        "",             false,false, false, true,  false, false, "",            0,    1, "2Gi",   "", ""},
 {"oraclelinux",         "virtio","virtio", "",        "no-sb",        false,false, false, true,  false, false, "",            0,    2, "4Gi",   "", ""},
 {"legacy",              "sata",  "e1000",  "",        "",             false,false, false, false, false, false, "",            0,    0, "",      "", ""},
 {"alpine",              "virtio","virtio", "",        "",             false,false, false, true,  false, false, "",            0,    1, "512Mi", "", ""},
 {"cirros",              "virtio","virtio", "",        "",             false,false, false, true,  false, false, "",            0,    1, "256Mi", "", ""},
};
// clang-format on

// The Windows base's clock and Hyper-V set (upstream's hyperv component).
inline constexpr const char* kWindowsHyperv =
    "utc hpet.present=false pit=delay rtc=catchup hyperv-timer acpi apic relaxed vapic vpindex "
    "spinlocks=8191 synic synictimer.direct tlbflush frequencies reenlightenment ipi runtime "
    "reset";

}  // namespace qmd::test::upstream
