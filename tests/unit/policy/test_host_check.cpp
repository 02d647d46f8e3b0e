#include <doctest/doctest.h>

#include <functional>

#include "policy/validate.hpp"

using namespace qmd::policy;

namespace {

constexpr std::uint64_t Gi = 1ULL << 30;
constexpr std::uint64_t Mi = 1ULL << 20;

// A spec as the parser would leave it, with marks for the fields the checks name.
VmSpec vm() {
  VmSpec spec;
  spec.kind = "VirtualMachine";
  spec.name = "vm1";
  spec.source.set_file("vm.yaml");
  const std::string p = "spec.template.spec.domain";
  spec.source.record(p, {14, 7});
  spec.source.record(p + ".cpu", {15, 9});
  spec.source.record(p + ".cpu.model", {16, 18});
  spec.source.record(p + ".cpu.dedicatedCpuPlacement", {17, 34});
  spec.source.record(p + ".memory.guest", {19, 18});
  spec.source.record(p + ".memory.maxGuest", {20, 21});
  spec.source.record(p + ".memory.hugepages.pageSize", {22, 23});
  spec.source.record(p + ".machine.type", {24, 17});
  spec.source.record(p + ".firmware.bootloader.efi", {27, 13});
  spec.source.record(p + ".firmware.bootloader.efi.secureBoot", {28, 27});
  spec.source.record(p + ".features.hyperv", {30, 7});
  spec.source.record(p + ".clock.timer.hyperv", {33, 13});
  spec.source.record(p + ".devices.tpm", {40, 9});
  spec.source.record(p + ".launchSecurity.sev", {45, 9});
  spec.source.record(p + ".launchSecurity.snp", {45, 9});
  spec.source.record(p + ".launchSecurity.tdx", {45, 9});
  return spec;
}

// What this build machine's KVM accepts (see DESIGN.md).
const char* kNestedHost =
    "hostname=h1 hyperv=relaxed,spinlocks,runtime,reset,vendor-id,frequencies,passthrough";

void windows_hyperv(VmSpec& s) {
  HypervFeatures hv;
  hv.relaxed = Toggle{};
  hv.vpindex = Toggle{};
  hv.synic = Toggle{};
  hv.synictimer = SyncTimer{};
  hv.reset = Toggle{};
  hv.ipi = Toggle{.enabled = false};  // off: not requested
  s.domain.features.hyperv = hv;
  s.domain.clock.hyperv = Timer{};
}

struct Case {
  const char* name;
  std::string host;
  RunPolicy policy;
  std::function<void(VmSpec&)> edit;
  std::vector<std::string> errors;
  std::vector<std::string> dropped;
  std::vector<std::string> warnings;
};

RunPolicy best_effort() {
  RunPolicy p;
  p.hyperv = RunPolicy::Hyperv::best_effort;
  return p;
}

RunPolicy emulation() {
  RunPolicy p;
  p.use_emulation = true;
  return p;
}

std::string lines(const std::vector<std::string>& list) {
  std::string out;
  for (const auto& l : list) {
    out += l + "\n";
  }
  return out;
}

void run(const Case& c) {
  INFO(std::string(c.name));
  auto host = parse_host_caps(c.host);
  REQUIRE(host.has_value());
  VmSpec spec = vm();
  c.edit(spec);
  const HostCheck check = check_host(spec, *host, c.policy);
  std::vector<std::string> errors;
  for (const auto& e : check.errors) {
    errors.push_back(e.to_string());
  }
  CHECK(lines(errors) == lines(c.errors));
  CHECK(lines(check.dropped_hyperv) == lines(c.dropped));
  CHECK(lines(check.warnings) == lines(c.warnings));
}

}  // namespace

TEST_CASE("a spec that asks for nothing special passes on a typical host") {
  run({"plain", "", {}, [](VmSpec&) {}, {}, {}, {}});
  run({"plain, emulated, no KVM", "kvm=no", emulation(), [](VmSpec&) {}, {}, {}, {}});
}

TEST_CASE("KVM") {
  run({"unusable KVM without useEmulation",
       "hostname=h1 kvm=noperm",
       {},
       [](VmSpec&) {},
       {"spec.template.spec.domain: host \"h1\" cannot run KVM guests: cannot open /dev/kvm: "
        "Permission denied; /dev/kvm is 0600 root:root: a QEMU dropped to an unprivileged uid "
        "cannot open it; make it 0660 root:kvm (udev rule: a root qmd gives each VM's QEMU that "
        "group); fix /dev/kvm or set useEmulation to run under TCG (vm.yaml:14:7)"},
       {},
       {}});
}

TEST_CASE("Hyper-V: strict fails once, naming every refused feature") {
  run({"strict",
       kNestedHost,
       {},
       windows_hyperv,
       {"spec.template.spec.domain.features.hyperv: host \"h1\" refuses Hyper-V features vpindex "
        "(hv-vpindex), synic (hv-synic), clock.timer.hyperv (hv-time), synictimer (hv-stimer); "
        "remove them or run with hyperv: bestEffort (vm.yaml:30:7)"},
       {},
       {}});
  run({"only the clock", kNestedHost, {}, [](VmSpec& s) { s.domain.clock.hyperv = Timer{}; },
       {"spec.template.spec.domain.clock.timer.hyperv: host \"h1\" refuses Hyper-V features "
        "clock.timer.hyperv (hv-time); remove them or run with hyperv: bestEffort "
        "(vm.yaml:33:13)"},
       {}, {}});
  run({"all accepted", "", {}, windows_hyperv, {}, {}, {}});
  // QEMU 7.2's TCG refuses hv-vpindex too, so emulation is checked against TCG's verdicts.
  run({"emulation is checked against TCG", "kvm=no", emulation(), windows_hyperv,
       {"spec.template.spec.domain.features.hyperv: QEMU's TCG on host \"testhost\" refuses "
        "Hyper-V features vpindex (hv-vpindex), synic (hv-synic), synictimer (hv-stimer); remove "
        "them or run with hyperv: bestEffort (vm.yaml:30:7)"},
       {}, {}});
  run({"emulation with a TCG that has them all", "kvm=no hyperv-tcg=all", emulation(),
       windows_hyperv, {}, {}, {}});
}

TEST_CASE("Hyper-V: bestEffort drops refused features and what needs them") {
  run({"best effort",
       kNestedHost,
       best_effort(),
       windows_hyperv,
       {},
       {"hv-vpindex", "hv-synic", "hv-time", "hv-stimer"},
       {"spec.template.spec.domain.features.hyperv: host \"h1\" refuses Hyper-V features "
        "vpindex (hv-vpindex), synic (hv-synic), clock.timer.hyperv (hv-time), synictimer "
        "(hv-stimer); dropped (hyperv: bestEffort)"}});

  // A host description that accepts stimer while refusing synic still loses stimer.
  auto host = parse_host_caps("hostname=h1");
  REQUIRE(host.has_value());
  host->hyperv["synic"] = false;
  VmSpec spec = vm();
  windows_hyperv(spec);
  spec.domain.features.hyperv->synictimer->direct_set = true;
  const HostCheck check = check_host(spec, *host, best_effort());
  CHECK(check.errors.empty());
  CHECK(check.dropped_hyperv ==
        std::vector<std::string>{"hv-synic", "hv-stimer", "hv-stimer-direct"});
}

TEST_CASE("memory and CPUs") {
  const auto hugepages = [](std::uint64_t guest, std::uint64_t page) {
    return [=](VmSpec& s) {
      s.domain.memory.guest = guest;
      s.domain.memory.hugepages_page_size = page;
    };
  };
  run({"no free 2Mi pages", "hostname=h1 hugepages-2Mi=0/0", {}, hugepages(32 * Gi, 2 * Mi),
       {"spec.template.spec.domain.memory.hugepages.pageSize: needs 16384 free 2Mi hugepages for "
        "32Gi, host \"h1\" has 0 free (0 total); configure vm.nr_hugepages (or "
        "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages) (vm.yaml:22:23)"},
       {}, {}});
  run({"no 1Gi pool", "hostname=h1", {}, hugepages(4 * Gi, Gi),
       {"spec.template.spec.domain.memory.hugepages.pageSize: needs 4 free 1Gi hugepages for "
        "4Gi, host \"h1\" has no 1Gi pool; reserve them at boot (hugepagesz=1G hugepages=N) "
        "(vm.yaml:22:23)"},
       {}, {}});
  run({"enough pages", "hugepages-2Mi=2048/2048", {}, hugepages(4 * Gi, 2 * Mi), {}, {}, {}});
  run({"more memory than the host", "hostname=h1 memory=64Gi", {},
       [](VmSpec& s) { s.domain.memory.guest = 128 * Gi; },
       {"spec.template.spec.domain.memory.guest: 128Gi is more than host \"h1\" has (64Gi "
        "memory in total) (vm.yaml:19:18)"},
       {}, {}});
  run({"maxGuest beyond the host", "hostname=h1 memory=64Gi", {},
       [](VmSpec& s) {
         s.domain.memory.guest = 8 * Gi;
         s.domain.memory.max_guest = 96 * Gi;
       },
       {"spec.template.spec.domain.memory.maxGuest: 96Gi is more than host \"h1\" has (64Gi "
        "memory in total) (vm.yaml:20:21)"},
       {}, {}});
  const auto cpus = [](bool dedicated) {
    return [=](VmSpec& s) {
      s.domain.cpu.cores = 8;
      s.domain.cpu.threads = 2;
      s.domain.cpu.dedicated_cpu_placement = dedicated;
    };
  };
  run({"dedicated CPUs beyond the host", "hostname=h1 cpus=8", {}, cpus(true),
       {"spec.template.spec.domain.cpu.dedicatedCpuPlacement: needs 16 dedicated CPUs, host "
        "\"h1\" has 8 online; use fewer vCPUs or drop dedicatedCpuPlacement (vm.yaml:17:34)"},
       {}, {}});
  run({"overcommitted CPUs", "hostname=h1 cpus=8", {}, cpus(false), {}, {},
       {"spec.template.spec.domain.cpu: 16 vCPUs on host \"h1\" with 8 online CPUs are "
        "overcommitted"}});
}

TEST_CASE("firmware, TPM and launch security") {
  const auto efi = [](bool secure_boot) {
    return [=](VmSpec& s) {
      s.domain.firmware.bootloader = BootloaderKind::efi;
      s.domain.firmware.efi.secure_boot = secure_boot;
    };
  };
  run({"no OVMF", "hostname=h1 ovmf=none", {}, efi(true),
       {"spec.template.spec.domain.firmware.bootloader.efi.secureBoot: host \"h1\" has no OVMF "
        "firmware; install the ovmf package (vm.yaml:28:27)"},
       {}, {}});
  run({"OVMF present", "", {}, efi(true), {}, {}, {}});
  run({"plain OVMF present", "", {}, efi(false), {}, {}, {}});
  run({"TPM without swtpm", "hostname=h1 swtpm=no", {},
       [](VmSpec& s) { s.domain.devices.tpm = TpmDevice{}; },
       {"spec.template.spec.domain.devices.tpm: host \"h1\" has no swtpm with TPM 2.0; install "
        "swtpm and swtpm-tools (vm.yaml:40:9)"},
       {}, {}});
  run({"TPM turned off", "swtpm=no", {},
       [](VmSpec& s) {
         s.domain.devices.tpm = TpmDevice{};
         s.domain.devices.tpm->enabled = false;
       }, {}, {}, {}});
  run({"SEV", "hostname=h1", {},
       [](VmSpec& s) { s.domain.launch_security.kind = LaunchSecurityKind::sev; },
       {"spec.template.spec.domain.launchSecurity.sev: host \"h1\" does not support AMD SEV "
        "(kvm_amd sev is not enabled) (vm.yaml:45:9)"},
       {}, {}});
  run({"SNP", "hostname=h1", {},
       [](VmSpec& s) { s.domain.launch_security.kind = LaunchSecurityKind::snp; },
       {"spec.template.spec.domain.launchSecurity.snp: host \"h1\" does not support AMD SEV-SNP "
        "(kvm_amd sev_snp is not enabled) (vm.yaml:45:9)"},
       {}, {}});
  run({"TDX", "hostname=h1", {},
       [](VmSpec& s) { s.domain.launch_security.kind = LaunchSecurityKind::tdx; },
       {"spec.template.spec.domain.launchSecurity.tdx: host \"h1\" does not support Intel TDX "
        "(kvm_intel tdx is not enabled) (vm.yaml:45:9)"},
       {}, {}});
  run({"SEV host", "sev=yes", {},
       [](VmSpec& s) { s.domain.launch_security.kind = LaunchSecurityKind::sev; }, {}, {}, {}});
  // The kernel has SNP/TDX, but QEMU 7.2 has no sev-snp-guest / tdx-guest object.
  run({"SNP kernel, old QEMU", "hostname=h1 snp=yes qemu=7.2.0", {},
       [](VmSpec& s) { s.domain.launch_security.kind = LaunchSecurityKind::snp; },
       {"spec.template.spec.domain.launchSecurity.snp: QEMU 7.2.0 on host \"h1\" cannot start "
        "AMD SEV-SNP guests; it needs QEMU 9.1 or later (vm.yaml:45:9)"},
       {}, {}});
  run({"TDX kernel, old QEMU", "hostname=h1 tdx=yes qemu=9.2.0", {},
       [](VmSpec& s) { s.domain.launch_security.kind = LaunchSecurityKind::tdx; },
       {"spec.template.spec.domain.launchSecurity.tdx: QEMU 9.2.0 on host \"h1\" cannot start "
        "Intel TDX guests; it needs QEMU 10.1 or later (vm.yaml:45:9)"},
       {}, {}});
  run({"SNP host", "snp=yes qemu=9.1.0", {},
       [](VmSpec& s) { s.domain.launch_security.kind = LaunchSecurityKind::snp; }, {}, {}, {}});
}

TEST_CASE("machine type and CPU model") {
  run({"unknown machine type", "hostname=h1", {},
       [](VmSpec& s) { s.domain.machine.type = "pc-q35-9.0"; },
       {"spec.template.spec.domain.machine.type: \"pc-q35-9.0\" is not a machine type of QEMU "
        "7.2.0 on host \"h1\"; close ones: pc-q35-7.0, pc-q35-6.0, pc-q35-5.0, pc-q35-4.0 "
        "(vm.yaml:24:17)"},
       {}, {}});
  run({"versioned machine type", "", {}, [](VmSpec& s) { s.domain.machine.type = "pc-q35-7.1"; },
       {}, {}, {}});
  run({"unknown CPU model", "hostname=h1", {},
       [](VmSpec& s) { s.domain.cpu.model = "Skylake-Clinet"; },
       {"spec.template.spec.domain.cpu.model: \"Skylake-Clinet\" is not a CPU model of QEMU on "
        "host \"h1\"; close ones: Skylake-Client, Skylake-Client-v1, Skylake-Client-v2, "
        "Skylake-Client-v3 (vm.yaml:16:18)"},
       {}, {}});
  run({"host-passthrough under TCG", "", emulation(),
       [](VmSpec& s) { s.domain.cpu.model = "host-passthrough"; },
       {"spec.template.spec.domain.cpu.model: host-passthrough needs KVM; under useEmulation "
        "(TCG) use a named model such as \"max\" or \"Skylake-Client-v4\" (vm.yaml:16:18)"},
       {}, {}});
  run({"-cpu host does not start", "hostname=h1 cpu-host=no", {}, [](VmSpec&) {},
       {"spec.template.spec.domain.cpu.model: host-model needs QEMU's -cpu host, which does not "
        "start on host \"h1\" (killed by signal 6 (abort): error: failed to set MSR 0x10a to "
        "0x69); use a named model such as \"EPYC\" or \"Skylake-Client-v4\" (vm.yaml:16:18)"},
       {}, {}});
  run({"a named model where -cpu host fails", "cpu-host=no", {},
       [](VmSpec& s) { s.domain.cpu.model = "EPYC"; }, {}, {}, {}});
}

TEST_CASE("vhost-net absent is a warning for tap-backed virtio NICs under KVM") {
  const auto nic_with = [](std::string binding) {
    return [binding](VmSpec& s) {
      InterfaceDevice nic;
      nic.name = "default";
      nic.binding = binding;
      s.domain.devices.interfaces.push_back(nic);
    };
  };
  const auto nic = nic_with("tap");
  // User-mode networking never uses vhost: nothing to warn about.
  run({"slirp", "hostname=h1", {}, nic_with("user"), {}, {}, {}});
  run({"no vhost", "hostname=h1", {}, nic, {}, {},
       {"spec.template.spec.domain.devices.interfaces: host \"h1\" has no /dev/vhost-net, so "
        "virtio-net runs in userspace (slower); modprobe vhost_net"}});
  run({"vhost", "vhost-net=yes", {}, nic, {}, {}, {}});
  run({"emulated", "", emulation(), nic, {}, {}, {}});
}
