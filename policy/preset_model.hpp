#pragma once
// What an instancetype or a preference document holds (KubeVirt instancetype.kubevirt.io
// v1beta1, every field). Fields with an effect on one host are modelled; the others are kept
// as `unapplied` notes that become warnings on each VM that uses the preset.
// Internal to policy/preset*.cpp.
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <expected>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "policy/spec.hpp"
#include "policy/spec_error.hpp"

namespace qmd::policy::presets {

// Where a preset came from, for messages and listings.
inline constexpr const char* kBuiltinOrigin = "built-in";

struct Instancetype {
  std::string name;
  std::string kind;  // VirtualMachine(Cluster)Instancetype
  std::string file;  // the file it came from, or kBuiltinOrigin
  std::uint32_t cpu_guest = 0;
  std::optional<std::string> cpu_model;
  std::optional<bool> dedicated_cpu_placement, isolate_emulator_thread;
  std::optional<bool> numa_guest_mapping_passthrough;  // cpu.numa.guestMappingPassthrough
  std::optional<std::uint32_t> max_sockets;
  std::uint64_t memory_guest = 0;
  Mark memory_guest_mark;  // for requirement errors that name this file
  Mark cpu_guest_mark;
  std::optional<std::uint64_t> hugepages_page_size, max_guest;
  std::optional<std::string> io_threads_policy;
  std::optional<LaunchSecurity> launch_security;
  SpecErrors unapplied;  // accepted fields that do nothing here, each with why
};

struct Requirements {
  std::optional<std::uint32_t> cpu_guest;
  std::optional<std::uint64_t> memory_guest;
  std::optional<std::string> architecture;
  Mark cpu_mark, memory_mark, architecture_mark;
};

// How an instancetype's vCPUs become sockets/cores/threads (KubeVirt's spreadOptions).
struct CpuSpread {
  std::optional<std::string> across;   // SocketsCores (default), SocketsCoresThreads, CoresThreads
  std::optional<std::uint32_t> ratio;  // default 2 (or preferSpreadSocketToCoreRatio)
};

// Every field fills only what the VM leaves unset.
struct Preference {
  std::string name;
  std::string kind;  // VirtualMachine(Cluster)Preference
  std::string file;
  // clock
  bool utc = false;  // preferredClockOffset.utc
  std::optional<std::int64_t> utc_offset_seconds;
  std::optional<std::string> timezone;                           // preferredClockOffset.timezone
  std::optional<Timer> hpet, pit, rtc, hyperv_timer, kvm_timer;  // preferredTimer
  // cpu: how an instancetype's guest vCPUs become a topology
  std::optional<std::string> cpu_topology;  // sockets|cores|threads|spread|any (+ prefer* forms)
  CpuSpread spread;
  std::optional<std::uint32_t> spread_socket_to_core_ratio;  // preferSpreadSocketToCoreRatio
  // devices
  std::optional<std::string> disk_bus, cdrom_bus, lun_bus, interface_model, input_bus, input_type,
      disk_cache, disk_io, video_type;
  std::optional<bool> disk_dedicated_io_thread, network_interface_multiqueue, block_multi_queue,
      rng, autoattach_serial_console, autoattach_graphics_device, autoattach_mem_balloon,
      autoattach_input_device, autoattach_pod_interface, use_virtio_transitional;
  std::optional<TpmDevice> tpm;
  // features
  std::optional<Toggle> acpi, apic, smm;
  std::optional<bool> kvm_hidden;
  std::optional<Toggle> pvspinlock;      // preferredPvspinlock
  std::vector<CpuFeature> cpu_features;  // preferredCPUFeatures: used when the VM lists none
  std::optional<HypervFeatures> hyperv;
  // firmware: preferredEfi, or its deprecated predecessors preferredUseEfi/-SecureBoot
  std::optional<bool> use_efi, use_bios;
  std::optional<EfiSpec> efi;
  // machine
  std::optional<std::string> machine_type;
  // the VM
  std::optional<std::int64_t> termination_grace_period_seconds;
  std::optional<std::string> subdomain;            // preferredSubdomain
  std::map<std::string, std::string> annotations;  // spec.annotations: VM annotations
  std::optional<std::string> architecture;         // preferredArchitecture
  std::optional<LaunchSecurity> launch_security;   // preferredLaunchSecurity
  Mark architecture_mark;
  Requirements requirements;
  SpecErrors unapplied;
};

using Preset = std::variant<Instancetype, Preference>;

// The four kinds KubeVirt defines, and which of them are preferences.
bool is_preset_kind(std::string_view kind);
bool is_preference_kind(std::string_view kind);
// "VirtualMachineInstancetype, VirtualMachineClusterInstancetype, ..." for messages.
std::string_view preset_kinds_text();

// One YAML document of one of the four kinds. Errors carry `file` and line:column.
std::expected<Preset, SpecErrors> read_preset(const YAML::Node& doc, const std::string& file);

// The built-in documents, one YAML stream (preset_builtin*.cpp).
std::vector<YAML::Node> builtin_preset_documents();

// How a preference's cpu topology spreads `vcpus` (KubeVirt: sockets by default); an error
// message when the spread options cannot divide them.
std::expected<CpuSpec, std::string> spread_vcpus(std::uint32_t vcpus, const Preference* pref);

// Sets cpu and memory from `it` (topology per `pref`); fields the VM sets that the
// instancetype owns are errors naming both.
void apply_instancetype(VmSpec& spec, const Instancetype& it, const Preference* pref,
                        SpecErrors& errors);
// Fills what the VM leaves unset.
void apply_preference(VmSpec& spec, const Preference& pref);
// The preference's requirements against what the instancetype or the VM provides.
void check_requirements(const VmSpec& spec, const Instancetype* it, const Preference& pref,
                        SpecErrors& errors);

}  // namespace qmd::policy::presets
