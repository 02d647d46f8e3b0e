#pragma once
// What an instancetype or a preference document holds, as far as the spec model can use it
// (KubeVirt instancetype.kubevirt.io/v1beta1, a subset). Internal to policy/preset*.cpp.
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <variant>

#include "policy/spec.hpp"
#include "policy/spec_error.hpp"

namespace qmd::policy::presets {

struct Instancetype {
  std::string name;
  std::string file;  // where it came from, for messages ("<built-in>" for ours)
  std::uint32_t cpu_guest = 0;
  std::optional<std::string> cpu_model;
  std::optional<bool> dedicated_cpu_placement, isolate_emulator_thread;
  std::optional<std::uint32_t> max_sockets;
  std::uint64_t memory_guest = 0;
  std::optional<std::uint64_t> hugepages_page_size, max_guest;
  std::optional<std::string> io_threads_policy;
};

// Every field fills only what the VM leaves unset.
struct Preference {
  std::string name;
  std::string file;
  // clock
  bool utc = false;  // preferredClockOffset.utc
  std::optional<std::int64_t> utc_offset_seconds;
  std::optional<Timer> hpet, pit, rtc, hyperv_timer, kvm_timer;  // preferredTimer
  // cpu: how an instancetype's guest vCPUs become a topology
  std::optional<std::string> cpu_topology;  // preferSockets|preferCores|preferThreads|...
  // devices
  std::optional<std::string> disk_bus, cdrom_bus, lun_bus, interface_model, input_bus, input_type,
      disk_cache, disk_io;
  std::optional<bool> disk_dedicated_io_thread, network_interface_multiqueue, block_multi_queue,
      rng, autoattach_serial_console, autoattach_graphics_device, autoattach_mem_balloon,
      autoattach_input_device, autoattach_pod_interface;
  std::optional<TpmDevice> tpm;
  // features
  std::optional<Toggle> acpi, apic, smm;
  std::optional<bool> kvm_hidden;
  std::optional<HypervFeatures> hyperv;
  // firmware
  std::optional<bool> use_efi, use_secure_boot, use_bios;
  // machine
  std::optional<std::string> machine_type;
};

using Preset = std::variant<Instancetype, Preference>;

// One YAML document of kind VirtualMachine(Cluster)Instancetype or
// VirtualMachine(Cluster)Preference. Errors carry `file` and line:column.
std::expected<Preset, SpecErrors> read_preset(const YAML::Node& doc, const std::string& file);

// The built-in documents, one YAML stream.
const char* builtin_presets_yaml();

// Sets cpu and memory from `it` (topology spread per `topology`); fields the VM sets that the
// instancetype owns are errors naming both.
void apply_instancetype(VmSpec& spec, const Instancetype& it,
                        const std::optional<std::string>& topology, SpecErrors& errors);
// Fills what the VM leaves unset.
void apply_preference(VmSpec& spec, const Preference& pref);

// How a preference's cpu topology spreads `vcpus` (KubeVirt: preferSockets by default).
CpuSpec spread_vcpus(std::uint32_t vcpus, const std::optional<std::string>& topology);

}  // namespace qmd::policy::presets
