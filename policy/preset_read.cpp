// Reads one instancetype or preference document with the spec parser's strict reader, so
// unknown fields and wrong types fail the same way, with file:line:column. Every field of
// instancetype.kubevirt.io/v1beta1 is known; those without an effect on one host are kept as
// warnings (`unapplied`). The preference spec is read in preset_read_preference.cpp.
#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "policy/preset_model.hpp"
#include "policy/preset_read_parts.hpp"
#include "policy/yaml_reader.hpp"

namespace qmd::policy::presets {
namespace {

using yaml::MapReader;

constexpr std::array<std::string_view, 4> kKinds = {
    "VirtualMachineInstancetype", "VirtualMachineClusterInstancetype", "VirtualMachinePreference",
    "VirtualMachineClusterPreference"};

// The API versions KubeVirt has served these kinds under.
constexpr std::array<std::string_view, 4> kApiVersions = {
    "instancetype.kubevirt.io/v1beta1", "instancetype.kubevirt.io/v1",
    "instancetype.kubevirt.io/v1alpha2", "instancetype.kubevirt.io/v1alpha1"};

void read_instancetype_cpu(MapReader& cpu, Instancetype& it) {
  cpu.require("guest");
  std::optional<std::uint32_t> guest;
  cpu.read("guest", guest);
  if (guest == 0u) {
    cpu.doc().error(cpu.child_path("guest"), cpu.key_mark("guest"), "must be at least 1");
  }
  it.cpu_guest = guest.value_or(1);
  it.cpu_guest_mark = cpu.value_mark("guest");
  cpu.read("model", it.cpu_model);
  cpu.read("dedicatedCPUPlacement", it.dedicated_cpu_placement);
  cpu.read("isolateEmulatorThread", it.isolate_emulator_thread);
  cpu.read_map("numa", [&](MapReader& numa) {
    if (numa.read_marker("guestMappingPassthrough")) {
      it.numa_guest_mapping_passthrough = true;
    }
  });
  cpu.accept_ignored("realtime",
                     "is not applied by qmd yet (no realtime vCPU scheduling); ignored");
  cpu.read("maxSockets", it.max_sockets);
}

void read_instancetype_memory(MapReader& mem, Instancetype& it) {
  mem.require("guest");
  std::optional<std::uint64_t> guest;
  mem.read_bytes("guest", guest);
  it.memory_guest = guest.value_or(0);
  it.memory_guest_mark = mem.value_mark("guest");
  mem.read_map("hugepages", [&](MapReader& h) {
    h.require("pageSize");
    h.read_bytes("pageSize", it.hugepages_page_size);
  });
  mem.read_bytes("maxGuest", it.max_guest);
  std::optional<std::int64_t> overcommit;
  mem.read("overcommitPercent", overcommit);
  if (overcommit && (*overcommit < 0 || *overcommit > 100)) {
    mem.error_at("overcommitPercent",
                 fmt::format("{} is not a percentage from 0 to 100", *overcommit));
  } else if (overcommit) {
    mem.doc().warn(mem.child_path("overcommitPercent"), mem.key_mark("overcommitPercent"),
                   "has no effect on one host (qmd reserves no memory for a VM, so there is "
                   "nothing to overcommit); ignored");
  }
}

void read_instancetype_spec(MapReader& spec, Instancetype& it) {
  spec.require("cpu");
  spec.require("memory");
  spec.read_map("cpu", [&](MapReader& cpu) { read_instancetype_cpu(cpu, it); });
  spec.read_map("memory", [&](MapReader& mem) { read_instancetype_memory(mem, it); });
  spec.read("ioThreadsPolicy", it.io_threads_policy);
  spec.accept_ignored("ioThreads",
                      "is not applied by qmd (no supplemental iothread pool); ignored");
  spec.read_map("launchSecurity", [&](MapReader& launch) {
    it.launch_security = parts::read_launch_security(launch);
  });
  for (auto key : {"gpus", "hostDevices"}) {
    spec.reject(key,
                "device passthrough is not supported by qmd; remove it or use another "
                "instancetype");
  }
  for (auto key : {"nodeSelector", "schedulerName"}) {
    spec.accept_ignored(key, parts::kNoEffectHere);
  }
  spec.accept_ignored("annotations", parts::kPodAnnotations);
}

// metadata: name, plus what `kubectl get -o yaml` adds (none of it changes the preset).
void read_metadata(MapReader& meta, std::optional<std::string>& name) {
  meta.require("name");
  meta.read("name", name);
  std::map<std::string, std::string> ignored;
  meta.read_string_map("labels", ignored);
  meta.read_string_map("annotations", ignored);
  for (auto key : {"namespace", "uid", "resourceVersion", "generation", "creationTimestamp",
                   "managedFields", "ownerReferences", "finalizers", "generateName"}) {
    meta.take(key);
  }
}

void check_api_version(MapReader& top, const std::optional<std::string>& api_version) {
  if (api_version && std::ranges::find(kApiVersions, *api_version) == kApiVersions.end()) {
    top.error_at("apiVersion", fmt::format("\"{}\" is not supported: use {}", *api_version,
                                           fmt::join(kApiVersions, " or ")));
  }
}

}  // namespace

bool is_preset_kind(std::string_view kind) {
  return std::ranges::find(kKinds, kind) != kKinds.end();
}

bool is_preference_kind(std::string_view kind) {
  return is_preset_kind(kind) && kind.ends_with("Preference");
}

std::string_view preset_kinds_text() {
  return "VirtualMachineInstancetype, VirtualMachineClusterInstancetype, "
         "VirtualMachinePreference or VirtualMachineClusterPreference";
}

std::expected<Preset, SpecErrors> read_preset(const YAML::Node& node, const std::string& file) {
  SourceMap source;
  source.set_file(file);
  SpecErrors errors;
  SpecErrors warnings;
  yaml::Document doc(source, errors);
  doc.set_warnings(warnings);
  Preset preset;
  {
    MapReader top(doc, node, "", Mark{1, 1});
    std::optional<std::string> api_version, kind, name;
    top.read("apiVersion", api_version);
    check_api_version(top, api_version);
    top.require("kind");
    top.read("kind", kind);
    top.require("metadata");
    top.read_map("metadata", [&](MapReader& meta) { read_metadata(meta, name); });
    top.require("spec");
    if (!kind || !is_preset_kind(*kind)) {
      if (kind) {
        top.error_at(
            "kind", fmt::format("\"{}\" is not a preset kind; use {}", *kind, preset_kinds_text()));
      }
      top.has("spec");  // not read: its shape depends on the kind
    } else if (is_preference_kind(*kind)) {
      Preference p;
      p.name = name.value_or("");
      p.kind = *kind;
      p.file = file;
      top.read_map("spec", [&](MapReader& spec) { parts::read_preference_spec(spec, p); });
      preset = std::move(p);
    } else {
      Instancetype it;
      it.name = name.value_or("");
      it.kind = *kind;
      it.file = file;
      top.read_map("spec", [&](MapReader& spec) { read_instancetype_spec(spec, it); });
      preset = std::move(it);
    }
  }
  if (!errors.empty()) {
    return std::unexpected(std::move(errors));
  }
  std::visit([&](auto& p) { p.unapplied = std::move(warnings); }, preset);
  return preset;
}

}  // namespace qmd::policy::presets
