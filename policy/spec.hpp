#pragma once
// The VM spec model: KubeVirt's VirtualMachine(Instance) shape, as far as qmd supports it.
// Every optional field stays std::nullopt when the document leaves it unset, so that presets
// (preference/instancetype) can tell "unset" from "set to the default"; defaults are applied
// by policy::apply_defaults, never by the parser.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "policy/source_map.hpp"

namespace qmd::policy {

// KubeVirt's `{enabled: bool}` feature toggle; `{}` means enabled.
struct Toggle {
  std::optional<bool> enabled;
};

// One of cpu.features: a CPUID flag by its QEMU/libvirt name and what to do with it.
struct CpuFeature {
  std::string name;                   // e.g. vmx, pcid, invtsc
  std::optional<std::string> policy;  // force|require|optional|disable|forbid; default require
  // hyperv.evmcs brought this `require` (added the entry, or raised it from optional), as
  // KubeVirt does: if evmcs is dropped on the host, the flag becomes optional again.
  bool for_evmcs = false;
};

struct CpuSpec {
  std::optional<std::uint32_t> sockets;
  std::optional<std::uint32_t> cores;
  std::optional<std::uint32_t> threads;
  std::optional<std::uint32_t> max_sockets;            // maxSockets: vCPU hotplug ceiling
  std::optional<std::string> model;                    // host-model, host-passthrough, or a name
  std::optional<bool> dedicated_cpu_placement;         // dedicatedCpuPlacement
  std::optional<bool> isolate_emulator_thread;         // isolateEmulatorThread
  std::optional<bool> numa_guest_mapping_passthrough;  // numa.guestMappingPassthrough: {}
  std::vector<CpuFeature> features{};                  // cpu.features: named CPUID flags
};

struct MemorySpec {
  std::optional<std::uint64_t> guest;  // bytes
  // What the spec asked for when that was not a whole MiB: `guest` is then aligned up to
  // 1 MiB as libvirt does, and errors about `guest` name both figures.
  std::optional<std::uint64_t> guest_unaligned;
  std::optional<std::uint64_t> hugepages_page_size;  // hugepages.pageSize in bytes (2Mi or 1Gi)
  std::optional<std::uint64_t> max_guest;            // maxGuest: virtio-mem ceiling, bytes
};

struct ResourceList {
  std::optional<double> cpu;            // cores; "500m" parses to 0.5
  std::optional<std::uint64_t> memory;  // bytes
};

struct Resources {
  ResourceList requests;
  ResourceList limits;
  std::optional<bool> overcommit_guest_overhead;  // overcommitGuestOverhead
};

enum class BootloaderKind { unset, bios, efi };

struct EfiSpec {
  std::optional<bool> secure_boot;  // KubeVirt default: true
  std::optional<bool> persistent;   // persistent VARS across restarts; default false
};

struct KernelBoot {
  std::string kernel_path;  // local path (our extension of KubeVirt's container form)
  std::string initrd_path;
  std::string kernel_args;
};

// SMBIOS type 1 (system). KubeVirt sets these from cluster config; we let the spec set them.
struct SmbiosSystem {
  std::optional<std::string> manufacturer, product, version, serial, sku, family;
};

// SMBIOS type 3, KubeVirt's domain.chassis.
struct Chassis {
  std::optional<std::string> manufacturer, version, serial, asset, sku;
};

struct FirmwareSpec {
  std::optional<std::string> uuid;
  std::optional<std::string> serial;  // SMBIOS system serial (KubeVirt firmware.serial)
  BootloaderKind bootloader = BootloaderKind::unset;
  EfiSpec efi;
  std::optional<KernelBoot> kernel_boot;
  SmbiosSystem smbios;  // firmware.smbios: our extension
};

struct MachineSpec {
  std::optional<std::string> type;  // q35 (default), pc, or a versioned name like pc-q35-7.2
};

struct Timer {
  std::optional<bool> present;             // KubeVirt `present` (also accepted as `enabled`)
  std::optional<std::string> tick_policy;  // delay|catchup|merge|discard
  std::optional<std::string> track;        // rtc only: guest|wall
};

struct ClockSpec {
  bool utc_set = false;
  std::optional<std::int64_t> utc_offset_seconds;  // utc.offsetSeconds
  std::optional<std::string> timezone;             // e.g. "Europe/Berlin" or "localtime"
  std::optional<Timer> hpet, pit, rtc, hyperv, kvm;
};

struct Spinlocks {
  std::optional<bool> enabled;
  std::optional<std::uint32_t> retries;  // spinlocks.spinlocks; KubeVirt default 4096
};

struct VendorId {
  std::optional<bool> enabled;
  std::optional<std::string> vendor_id;  // vendorid.vendorid, at most 12 characters
};

struct SyncTimer {
  std::optional<bool> enabled;
  Toggle direct;
  bool direct_set = false;
};

struct TlbFlush {
  std::optional<bool> enabled;
  bool direct_set = false;
  Toggle direct;
  bool extended_set = false;
  Toggle extended;
};

// Each feature is nullopt when absent from the document.
struct HypervFeatures {
  std::optional<Toggle> relaxed, vapic, vpindex, runtime, synic, reset, frequencies,
      reenlightenment, ipi, evmcs;
  std::optional<Spinlocks> spinlocks;
  std::optional<SyncTimer> synictimer;
  std::optional<VendorId> vendorid;
  std::optional<TlbFlush> tlbflush;
};

struct FeaturesSpec {
  std::optional<Toggle> acpi, apic, smm;
  std::optional<Toggle> pvspinlock;  // KVM paravirtual spinlocks (QEMU's kvm-pv-unhalt)
  std::optional<bool> kvm_hidden;    // features.kvm.hidden
  std::optional<HypervFeatures> hyperv;
  std::optional<Toggle> hyperv_passthrough;  // hypervPassthrough
};

enum class DiskKind { disk, cdrom, lun };

struct DiskDevice {
  std::string name;
  DiskKind kind = DiskKind::disk;
  std::optional<std::string> bus;  // virtio|scsi|sata (usb for disk too)
  std::optional<bool> readonly;
  std::optional<std::uint32_t> boot_order;
  std::optional<std::string> serial;
  std::optional<std::string> cache;  // none|writethrough|writeback
  std::optional<std::string> io;     // native|threads
  std::optional<bool> dedicated_io_thread;
  std::optional<std::string> pci_address;      // e.g. 0000:81:01.0 (informational for virtio)
  std::optional<std::uint32_t> rotation_rate;  // 1: non-rotating (SSD); 1025-65534: rpm
  bool for_volume = false;  // added for a volume no disk named; its name is checked there
};

// interfaces[].ports: KubeVirt's Port, a host port forwarded to the guest (masquerade, user,
// passt). Which host port serves it is the daemon's choice at start (the same number when
// free, else one from qmd.yaml's network.ports.range).
struct InterfacePort {
  std::optional<std::string> name;  // IANA_SVC_NAME
  std::uint32_t port = 0;           // 1-65535
  std::string protocol = "TCP";     // TCP|UDP
  bool operator==(const InterfacePort&) const = default;
};

struct InterfaceDevice {
  std::string name;
  std::optional<std::string> model;  // virtio|e1000e|e1000
  std::optional<std::string> mac_address;
  std::string binding;  // masquerade|user|passt|bridge|tap (exactly one)
  std::optional<std::uint32_t> boot_order;
  std::optional<std::string> pci_address;
  std::optional<std::string> tap_name;  // tap binding: host tap device name (our extension)
  std::vector<InterfacePort> ports;
};

struct InputDevice {
  std::string name;
  std::string type;                // tablet|keyboard
  std::optional<std::string> bus;  // usb|virtio (default usb)
};

struct WatchdogDevice {
  std::string name;
  std::string model = "i6300esb";
  std::optional<std::string> action;  // poweroff|reset|shutdown (default reset)
};

struct TpmDevice {
  std::optional<bool> enabled;     // `enabled: false` turns it off explicitly
  std::optional<bool> persistent;  // tpm-crb with on-disk state (else tpm-tis, ephemeral)
};

struct DevicesSpec {
  std::vector<DiskDevice> disks;
  std::vector<InterfaceDevice> interfaces;
  std::vector<InputDevice> inputs;
  std::optional<WatchdogDevice> watchdog;
  std::optional<TpmDevice> tpm;
  std::optional<bool> rng;  // devices.rng: {} present
  // devices.video.type: vga|virtio|bochs|ramfb; unset is KubeVirt's VGA. A preference's
  // preferredVideoType fills it when the VM leaves it unset.
  std::optional<std::string> video_type;
  std::optional<bool> network_interface_multiqueue;
  std::optional<bool> block_multi_queue;
  std::optional<bool> use_virtio_transitional;
  std::optional<bool> autoattach_serial_console;   // default true
  std::optional<bool> autoattach_graphics_device;  // default true
  std::optional<bool> autoattach_mem_balloon;      // default true
  std::optional<bool> autoattach_input_device;     // default false
  std::optional<bool> autoattach_pod_interface;    // default true
};

enum class LaunchSecurityKind { none, sev, snp, tdx };

struct LaunchSecurity {
  LaunchSecurityKind kind = LaunchSecurityKind::none;
  std::optional<std::uint32_t> sev_policy;  // sev.policy bits (our extension; default 0x1)
};

struct DomainSpec {
  CpuSpec cpu;
  MemorySpec memory;
  Resources resources;
  MachineSpec machine;
  FirmwareSpec firmware;
  ClockSpec clock;
  FeaturesSpec features;
  DevicesSpec devices;
  Chassis chassis;
  std::optional<std::string> io_threads_policy;  // shared|auto
  LaunchSecurity launch_security;
};

enum class VolumeKind { host_disk, file, block, persistent_volume_claim, container_disk,
                        data_volume, cloud_init_no_cloud, empty_disk, cloud_init_config_drive,
                        sysprep, ephemeral };

// KubeVirt's cap on inline cloud-init data, user and network data alike (cloudInitUserMaxLen
// and cloudInitNetworkMaxLen, 2048 bytes, in its vmi-create-admitter.go): larger data goes in
// a secret, as there. Kept, so a spec KubeVirt takes is taken here and the other way round.
inline constexpr std::size_t kCloudInitInlineMax = 2048;

// cloudInitNoCloud / cloudInitConfigDrive: what goes into the seed qmd builds at each start.
// Inline data is already decoded (userDataBase64); a secret is read when the seed is built.
struct CloudInitSource {
  std::optional<std::string> user_data;     // userData or userDataBase64
  std::string user_data_secret;             // secretRef.name: local secret <secrets.dir>/NAME
  std::optional<std::string> network_data;  // networkData or networkDataBase64
  std::string network_data_secret;          // networkDataSecretRef.name
};

struct Volume {
  std::string name;
  VolumeKind kind = VolumeKind::file;
  std::string path;                           // hostDisk.path, file.path, block.path
  std::optional<std::string> format;          // file.format raw|qcow2 (hostDisk: raw)
  std::optional<std::string> host_disk_type;  // Disk|DiskOrCreate
  std::optional<std::uint64_t> capacity;      // hostDisk.capacity, emptyDisk.capacity, bytes
  // persistentVolumeClaim.claimName / dataVolume.name / containerDisk.image /
  // ephemeral.persistentVolumeClaim.claimName
  std::string claim_name;
  CloudInitSource cloud_init;  // cloudInitNoCloud / cloudInitConfigDrive
  std::string sysprep_secret;  // sysprep.configMap/secret name: local secret <secrets.dir>/NAME
  // What the daemon found on this host for a claim or containerDisk volume (never from a
  // spec; unset offline): render attaches it, or a per-run overlay over it.
  struct Resolved {
    std::string path;
    std::string format = "raw";  // raw|qcow2
    bool device = false;         // a block device (storage.claimDevices)
    std::uint64_t virtual_size = 0;
  };
  std::optional<Resolved> resolved;
};

// A VM's dataVolumeTemplates entry (KubeVirt/CDI's DataVolume): the claim `name` that qmd
// makes when it is missing, from one source, at least `size` bytes.
struct DataVolumeTemplate {
  enum class Source { blank, pvc, registry, http };
  std::string name;        // metadata.name: the claim
  Source source = Source::blank;
  std::string from;        // pvc: the claim cloned; registry: the image reference (no
                           // docker://); http: the URL
  std::uint64_t size = 0;  // spec.storage or spec.pvc resources.requests.storage
  std::size_t index = 0;   // its place in dataVolumeTemplates, for errors
};

enum class NetworkKind { pod, multus };

struct Network {
  std::string name;
  NetworkKind kind = NetworkKind::pod;
  std::string multus_network_name;  // multus.networkName → host bridge via daemon config
  // pod.vmNetworkCIDR and pod.vmIPv6NetworkCIDR as written (KubeVirt's; empty: the binding's
  // own default), checked when parsed (policy/vm_network_cidr.hpp reads them).
  std::string vm_network_cidr;
  std::string vm_ipv6_network_cidr;
};

struct PresetRef {
  std::string name;
  std::optional<std::string> kind;  // VirtualMachineClusterInstancetype etc.; informational
};

// readinessProbe / livenessProbe, KubeVirt's, run through the guest agent: guestAgentPing
// (the agent answers) or exec (a command in the guest exits 0). Kubernetes' defaults.
struct Probe {
  std::vector<std::string> exec;  // the command and its arguments; empty: guestAgentPing
  std::uint32_t initial_delay_seconds = 0;
  std::uint32_t timeout_seconds = 1;
  std::uint32_t period_seconds = 10;
  std::uint32_t success_threshold = 1;  // consecutive passes that make it pass
  std::uint32_t failure_threshold = 3;  // consecutive failures that make it fail
};

// The whole VM. For kind: VirtualMachineInstance the template fields sit directly in `spec`.
struct VmSpec {
  std::string api_version;
  std::string kind;  // VirtualMachine | VirtualMachineInstance
  std::string name;  // metadata.name
  std::string namespace_;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;

  std::optional<bool> running;  // VirtualMachine spec.running
  std::optional<std::string> run_strategy;
  std::optional<PresetRef> instancetype;
  std::optional<PresetRef> preference;
  std::vector<DataVolumeTemplate> data_volume_templates;  // VirtualMachine spec

  DomainSpec domain;
  std::vector<Volume> volumes;
  std::vector<Network> networks;
  // The guest's host name (cloud-init and DHCP give it to the guest) and KubeVirt's subdomain;
  // both DNS labels. guest_hostname() is what the guest gets: hostname, else the VM's name.
  std::optional<std::string> hostname;
  std::optional<std::string> subdomain;
  // accessCredentials: SSH public keys qmd puts into the named users' authorized_keys through
  // the guest agent, from the local secret of that name (qmd.yaml secrets.dir/NAME).
  struct SshKeyCredential {
    std::string secret;
    std::vector<std::string> users;
  };
  std::vector<SshKeyCredential> access_credentials;
  std::optional<std::int64_t> termination_grace_period_seconds;
  // startStrategy: Paused, KubeVirt's one value: QEMU starts with its vCPUs stopped and stays
  // so until resumed. Unset: the VM runs.
  bool start_paused = false;
  // Readiness shows in the API; a failed liveness probe ends the run as a failure, and
  // runStrategy says whether it starts again.
  std::optional<Probe> readiness_probe;
  std::optional<Probe> liveness_probe;

  // Where each field came from, for errors that name line:column.
  SourceMap source;
  // What qmd did that the spec did not say, or fields with no effect on one host; each names
  // its field and position like an error does.
  SpecErrors warnings;
};

// The guest's host name: `hostname`, or the VM's name when unset, as KubeVirt does.
inline std::string guest_hostname(const VmSpec& spec) { return spec.hostname.value_or(spec.name); }

// Records `warning` once (defaults are applied more than once).
void add_warning(VmSpec& spec, SpecError warning);

}  // namespace qmd::policy
