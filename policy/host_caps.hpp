#pragma once
// What this host can do, probed once per daemon start (policy::probe_host) or read from a
// text description for tests and golden files (policy::parse_host_caps), so that rendering
// and validation never touch the machine themselves.
#include <cstdint>
#include <expected>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace qmd::policy {

struct QemuVersion {
  int major = 0, minor = 0, micro = 0;
  auto operator<=>(const QemuVersion&) const = default;
};

struct OvmfImage {
  std::string code;      // /usr/share/OVMF/OVMF_CODE_4M.ms.fd
  std::string vars;      // the VARS template that goes with it
  bool secure_boot = false;  // built with SMM + secure boot (needs smm=on)
  bool keys_enrolled = false;  // VARS template has Microsoft keys enrolled
  bool size_4m = true;
};

struct HugepagePool {
  std::uint64_t total = 0;  // pages
  std::uint64_t free = 0;
};

struct SwtpmCaps {
  bool present = false;
  std::string path;        // /usr/bin/swtpm
  std::string setup_path;  // /usr/bin/swtpm_setup
  bool tpm2 = false;
  std::vector<std::string> features;  // from `swtpm socket --print-capabilities`
};

struct HostCaps {
  std::string hostname;
  std::string arch = "x86_64";
  std::string qemu_binary = "/usr/bin/qemu-system-x86_64";
  QemuVersion qemu_version;

  bool kvm_present = false;   // /dev/kvm exists
  bool kvm_usable = false;    // /dev/kvm opens read-write for us and KVM_CREATE_VM works
  std::string kvm_detail;     // why not, or the group/ACL a dropped QEMU user needs

  std::vector<std::string> machine_types;  // from -machine help, aliases included
  std::vector<std::string> cpu_models;     // from -cpu help
  // The host CPU's flags as /proc/cpuinfo names them (cpu.features checks); empty: unknown.
  std::vector<std::string> cpu_flags;

  // Whether `-accel kvm -cpu host` starts at all: on some nested hosts QEMU aborts on an MSR
  // (e.g. 0x10a, arch-capabilities) before any Hyper-V feature is involved.
  bool cpu_host_usable = false;
  std::string cpu_host_detail;  // QEMU's complaint when it is not

  // Hyper-V feature name without "hv-" -> whether `-accel kvm -cpu host,hv-NAME` starts here.
  std::map<std::string, bool> hyperv;
  std::map<std::string, std::string> hyperv_detail;  // refused feature -> QEMU's complaint
  bool hyperv_probed = false;  // false when KVM is unusable: nothing known
  std::string hyperv_probe_cpu;  // the -cpu base the probes used: "host", or "qemu64" when
                                 // `-cpu host` itself does not start
  // The same verdicts for QEMU's TCG (`-accel tcg -cpu max`): QEMU 7.2 refuses hv-vpindex
  // there too ("kernel doesn't allow setting HyperV VP_INDEX"), and with it synic, stimer,
  // tlbflush and ipi, so emulation is checked like KVM.
  std::map<std::string, bool> hyperv_tcg;
  std::map<std::string, std::string> hyperv_tcg_detail;
  bool hyperv_tcg_probed = false;

  bool vhost_net = false;  // /dev/vhost-net present
  std::map<std::uint64_t, HugepagePool> hugepages;  // page size in bytes -> pool
  std::uint64_t memory_total = 0;  // bytes (MemTotal)
  std::uint32_t cpus_online = 0;

  std::vector<OvmfImage> ovmf;
  SwtpmCaps swtpm;

  bool sev = false, sev_snp = false, tdx = false;
  std::uint32_t sev_cbitpos = 47;  // CPUID 0x8000001F EBX[5:0] on SEV hosts
  std::uint64_t tsc_khz = 0;  // KVM's guest TSC frequency by default (KVM_GET_TSC_KHZ); 0: unknown
  bool tsc_scaling = false;   // KVM_CAP_TSC_CONTROL: KVM can give a guest another TSC frequency
};

// Probe this machine. Runs the QEMU binary a few times (help output, a -S start per Hyper-V
// feature under KVM), each with a timeout; never throws.
HostCaps probe_host(const std::string& qemu_binary = "/usr/bin/qemu-system-x86_64");

// A fake host for tests and golden files, from `key=value` words such as
// "kvm=yes qemu=7.2.0 vhost-net=no hugepages-2Mi=1024/1024 memory=64Gi cpus=16
//  hyperv=all|none|relaxed,vapic,... ovmf=debian swtpm=yes sev=no".
// Unknown keys or bad values are an error naming the word.
std::expected<HostCaps, std::string> parse_host_caps(const std::string& text);

// The whole HostCaps as pretty JSON / human text for `qmctl host`.
std::string host_caps_json(const HostCaps& caps);
std::string host_caps_text(const HostCaps& caps);

// The Hyper-V features qmd knows, in the order QEMU needs them (dependencies first).
const std::vector<std::string>& known_hyperv_features();

// The features `feature` needs, directly (synic -> vpindex; stimer -> synic, time; ...).
// A host accepts a feature only together with all of them.
const std::vector<std::string>& hyperv_dependencies(std::string_view feature);

// The OVMF image rendering should use: with secure boot, a secure-boot build (keys enrolled
// preferred); without, a plain build (no SMM needed). nullptr when the host has none that fits.
const OvmfImage* select_ovmf(const HostCaps& caps, bool secure_boot);

}  // namespace qmd::policy
