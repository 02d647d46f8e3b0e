// A preference's spec, every field of instancetype.kubevirt.io/v1beta1
// VirtualMachinePreferenceSpec. Fields with no effect on one host become `unapplied` warnings.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <span>

#include "policy/parse_parts.hpp"
#include "policy/preset_read_parts.hpp"

namespace qmd::policy::presets::parts {
namespace {

using yaml::MapReader;

// KubeVirt's v1beta1 names: the short forms, and the deprecated prefer* forms.
constexpr std::array<std::string_view, 10> kTopologies = {
    "sockets",       "cores",       "threads",       "spread",       "any",
    "preferSockets", "preferCores", "preferThreads", "preferSpread", "preferAny"};
constexpr std::array<std::string_view, 3> kSpreadAcross = {"SocketsCores", "SocketsCoresThreads",
                                                           "CoresThreads"};
// What devices.video takes (KubeVirt's amd64 types but cirrus).
constexpr std::array<std::string_view, 4> kVideoTypes = {"vga", "virtio", "bochs", "ramfb"};

void read_one_of(MapReader& m, std::string_view key, std::optional<std::string>& out,
                 std::span<const std::string_view> allowed) {
  m.read(key, out);
  if (out && std::ranges::find(allowed, *out) == allowed.end()) {
    m.error_at(key, fmt::format("\"{}\" is not one of {}", *out, fmt::join(allowed, ", ")));
    out.reset();
  }
}

void read_timer(MapReader& m, std::string_view key, std::optional<Timer>& out) {
  m.read_map(key, [&](MapReader& t) {
    Timer timer;
    t.read("present", timer.present);
    t.read("tickPolicy", timer.tick_policy);
    t.read("track", timer.track);
    out = timer;
  });
}

void read_hyperv(MapReader& m, HypervFeatures& hv) {
  for (auto [key, field] : {std::pair{"relaxed", &hv.relaxed}, std::pair{"vapic", &hv.vapic},
                            std::pair{"vpindex", &hv.vpindex}, std::pair{"runtime", &hv.runtime},
                            std::pair{"synic", &hv.synic}, std::pair{"reset", &hv.reset},
                            std::pair{"frequencies", &hv.frequencies},
                            std::pair{"reenlightenment", &hv.reenlightenment},
                            std::pair{"ipi", &hv.ipi}, std::pair{"evmcs", &hv.evmcs}}) {
    policy::parse_parts::read_toggle(m, key, *field);
  }
  m.read_map("spinlocks", [&](MapReader& s) {
    Spinlocks spin;
    s.read("enabled", spin.enabled);
    s.read("spinlocks", spin.retries);
    hv.spinlocks = spin;
  });
  m.read_map("synictimer", [&](MapReader& s) {
    SyncTimer timer;
    s.read("enabled", timer.enabled);
    timer.direct_set =
        s.read_map("direct", [&](MapReader& d) { d.read("enabled", timer.direct.enabled); });
    hv.synictimer = timer;
  });
  m.read_map("vendorid", [&](MapReader& v) {
    VendorId id;
    v.read("enabled", id.enabled);
    v.read("vendorid", id.vendor_id);
    hv.vendorid = id;
  });
  m.read_map("tlbflush", [&](MapReader& t) {
    TlbFlush tlb;
    t.read("enabled", tlb.enabled);
    tlb.direct_set =
        t.read_map("direct", [&](MapReader& d) { d.read("enabled", tlb.direct.enabled); });
    tlb.extended_set =
        t.read_map("extended", [&](MapReader& d) { d.read("enabled", tlb.extended.enabled); });
    hv.tlbflush = tlb;
  });
}

void read_clock(MapReader& clock, Preference& p) {
  clock.read_map("preferredClockOffset", [&](MapReader& off) {
    p.utc =
        off.read_map("utc", [&](MapReader& u) { u.read("offsetSeconds", p.utc_offset_seconds); });
    off.read("timezone", p.timezone);
  });
  clock.read_map("preferredTimer", [&](MapReader& t) {
    read_timer(t, "hpet", p.hpet);
    read_timer(t, "pit", p.pit);
    read_timer(t, "rtc", p.rtc);
    read_timer(t, "hyperv", p.hyperv_timer);
    read_timer(t, "kvm", p.kvm_timer);
  });
}

void read_cpu(MapReader& cpu, Preference& p) {
  read_one_of(cpu, "preferredCPUTopology", p.cpu_topology, kTopologies);
  cpu.read_map("spreadOptions", [&](MapReader& s) {
    read_one_of(s, "across", p.spread.across, kSpreadAcross);
    s.read("ratio", p.spread.ratio);
    if (p.spread.ratio == 0u) {
      s.error_at("ratio", "must be at least 1");
    }
  });
  cpu.read_list("preferredCPUFeatures", [&](MapReader& feature, std::size_t) {
    auto& f = p.cpu_features.emplace_back();
    feature.require("name");
    feature.read("name", f.name);
    feature.read("policy", f.policy);
  });
}

void read_devices(MapReader& dev, Preference& p) {
  for (auto [key, field] :
       {std::pair{"preferredDiskBus", &p.disk_bus}, std::pair{"preferredCdromBus", &p.cdrom_bus},
        std::pair{"preferredLunBus", &p.lun_bus},
        std::pair{"preferredInterfaceModel", &p.interface_model},
        std::pair{"preferredInputBus", &p.input_bus},
        std::pair{"preferredInputType", &p.input_type},
        std::pair{"preferredDiskCache", &p.disk_cache}, std::pair{"preferredDiskIO", &p.disk_io}}) {
    dev.read(key, *field);
  }
  for (auto [key, field] :
       {std::pair{"preferredDiskDedicatedIoThread", &p.disk_dedicated_io_thread},
        std::pair{"preferredNetworkInterfaceMultiQueue", &p.network_interface_multiqueue},
        std::pair{"preferredBlockMultiQueue", &p.block_multi_queue},
        std::pair{"preferredAutoattachSerialConsole", &p.autoattach_serial_console},
        std::pair{"preferredAutoattachGraphicsDevice", &p.autoattach_graphics_device},
        std::pair{"preferredAutoattachMemBalloon", &p.autoattach_mem_balloon},
        std::pair{"preferredAutoattachInputDevice", &p.autoattach_input_device},
        std::pair{"preferredAutoattachPodInterface", &p.autoattach_pod_interface},
        std::pair{"preferredUseVirtioTransitional", &p.use_virtio_transitional}}) {
    dev.read(key, *field);
  }
  if (dev.read_marker("preferredRng")) {
    p.rng = true;
  }
  dev.read_map("preferredTPM", [&](MapReader& t) {
    TpmDevice tpm;
    t.read("enabled", tpm.enabled);
    t.read("persistent", tpm.persistent);
    p.tpm = tpm;
  });
  read_one_of(dev, "preferredVideoType", p.video_type, kVideoTypes);
  for (auto key : {"preferredDisableHotplug", "preferredVirtualGPUOptions", "preferredSoundModel",
                   "preferredDiskBlockSize", "preferredPanicDeviceModel"}) {
    dev.accept_ignored(key, kNotYet);
  }
  dev.accept_ignored("preferredInterfaceMasquerade",
                     "has no effect here (qmd's default interface is masquerade already)");
}

void read_features(MapReader& f, Preference& p) {
  policy::parse_parts::read_toggle(f, "preferredAcpi", p.acpi);
  f.read_map("preferredApic", [&](MapReader& a) {
    Toggle apic;
    a.read("enabled", apic.enabled);
    a.accept_ignored("endOfInterrupt", kNotYet);
    p.apic = apic;
  });
  policy::parse_parts::read_toggle(f, "preferredSmm", p.smm);
  f.read_map("preferredKvm", [&](MapReader& k) { k.read("hidden", p.kvm_hidden); });
  f.read_map("preferredHyperv", [&](MapReader& h) {
    HypervFeatures hv;
    read_hyperv(h, hv);
    p.hyperv = hv;
  });
  policy::parse_parts::read_toggle(f, "preferredPvspinlock", p.pvspinlock);
}

void read_firmware(MapReader& fw, Preference& p) {
  std::optional<bool> use_secure_boot;
  fw.read("preferredUseEfi", p.use_efi);
  fw.read("preferredUseSecureBoot", use_secure_boot);
  fw.read("preferredUseBios", p.use_bios);
  fw.accept_ignored("preferredUseBiosSerial", kNotYet);
  // preferredEfi supersedes the deprecated pair (KubeVirt reads it first).
  const bool efi = fw.read_map("preferredEfi", [&](MapReader& e) {
    EfiSpec spec;
    e.read("secureBoot", spec.secure_boot);
    e.read("persistent", spec.persistent);
    p.efi = spec;
  });
  if (!efi && p.use_efi.value_or(false)) {
    p.efi = EfiSpec{.secure_boot = use_secure_boot, .persistent = std::nullopt};
  }
}

void read_requirements(MapReader& req, Requirements& out) {
  req.read_map("cpu", [&](MapReader& cpu) {
    cpu.require("guest");
    cpu.read("guest", out.cpu_guest);
    out.cpu_mark = cpu.value_mark("guest");
  });
  req.read_map("memory", [&](MapReader& mem) {
    mem.require("guest");
    mem.read_bytes("guest", out.memory_guest);
    out.memory_mark = mem.value_mark("guest");
  });
  req.read("architecture", out.architecture);
  out.architecture_mark = req.value_mark("architecture");
}

constexpr std::uint32_t kSevNoDebug = 0x1;
constexpr std::uint32_t kSevEncryptedState = 0x4;

void read_sev(MapReader& sev, LaunchSecurity& out) {
  sev.read_map("policy", [&](MapReader& p) {
    std::optional<bool> encrypted_state;
    p.read("encryptedState", encrypted_state);
    out.sev_policy = kSevNoDebug | (encrypted_state.value_or(false) ? kSevEncryptedState : 0);
  });
  for (auto key : {"attestation", "session", "dhCert"}) {
    sev.accept_ignored(key, "is not applied by qmd (no remote attestation); ignored");
  }
}

}  // namespace

LaunchSecurity read_launch_security(MapReader& launch) {
  LaunchSecurity ls;
  switch (launch.one_of({"sev", "snp", "tdx"}, false).value_or(3)) {
    case 0:
      launch.read_map("sev", [&](MapReader& sev) { read_sev(sev, ls); });
      ls.kind = LaunchSecurityKind::sev;
      break;
    case 1:
      launch.read_marker("snp");
      ls.kind = LaunchSecurityKind::snp;
      break;
    case 2:
      launch.read_marker("tdx");
      ls.kind = LaunchSecurityKind::tdx;
      break;
    default:
      launch.doc().warn(launch.path(), launch.mark(),
                        "names no technology (sev, snp or tdx); the VM keeps its own");
      break;
  }
  return ls;
}

void read_preference_spec(MapReader& spec, Preference& p) {
  spec.read_map("clock", [&](MapReader& clock) { read_clock(clock, p); });
  spec.read_map("cpu", [&](MapReader& cpu) { read_cpu(cpu, p); });
  spec.read_map("devices", [&](MapReader& dev) { read_devices(dev, p); });
  spec.read_map("features", [&](MapReader& f) { read_features(f, p); });
  spec.read_map("firmware", [&](MapReader& fw) { read_firmware(fw, p); });
  spec.read_map("machine", [&](MapReader& m) { m.read("preferredMachineType", p.machine_type); });
  spec.read_map("volumes", [&](MapReader& v) {
    v.accept_ignored("preferredStorageClassName", kNoEffectHere);
  });
  spec.read("preferredTerminationGracePeriodSeconds", p.termination_grace_period_seconds);
  spec.read("preferredSubdomain", p.subdomain);
  if (p.subdomain && !policy::parse_parts::is_dns_label(*p.subdomain)) {
    spec.error_at("preferredSubdomain",
                  fmt::format("\"{}\" is not a DNS label: use at most 63 lowercase letters, "
                              "digits and '-', starting and ending with a letter or digit",
                              *p.subdomain));
    p.subdomain.reset();
  }
  spec.read_map("requirements", [&](MapReader& r) { read_requirements(r, p.requirements); });
  spec.read_string_map("annotations", p.annotations);
  spec.read("preferSpreadSocketToCoreRatio", p.spread_socket_to_core_ratio);
  spec.read_map("preferredLaunchSecurity",
                [&](MapReader& launch) { p.launch_security = read_launch_security(launch); });
  spec.read("preferredArchitecture", p.architecture);
  p.architecture_mark = spec.value_mark("preferredArchitecture");
}

}  // namespace qmd::policy::presets::parts
