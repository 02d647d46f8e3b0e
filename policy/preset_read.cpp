// Reads one instancetype or preference document with the spec parser's strict reader, so
// unknown fields and wrong types fail the same way, with file:line:column.
#include <fmt/format.h>

#include "policy/preset_model.hpp"
#include "policy/yaml_reader.hpp"

namespace qmd::policy::presets {
namespace {

using yaml::MapReader;

void read_toggle(MapReader& m, std::string_view key, std::optional<Toggle>& out) {
  m.read_map(key, [&](MapReader& t) {
    Toggle toggle;
    t.read("enabled", toggle.enabled);
    out = toggle;
  });
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
    read_toggle(m, key, *field);
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

// KubeVirt's v1beta1 names, and the short forms of later versions.
constexpr std::string_view kTopologies =
    "preferSockets, preferCores, preferThreads, preferSpread, preferAny, sockets, cores, "
    "threads, spread, any";

bool is_topology(std::string_view value) {
  for (std::string_view t : {"preferSockets", "preferCores", "preferThreads", "preferSpread",
                             "preferAny", "sockets", "cores", "threads", "spread", "any"}) {
    if (t == value) {
      return true;
    }
  }
  return false;
}

void read_instancetype_spec(MapReader& spec, Instancetype& it) {
  spec.require("cpu");
  spec.require("memory");
  spec.read_map("cpu", [&](MapReader& cpu) {
    cpu.require("guest");
    std::optional<std::uint32_t> guest;
    cpu.read("guest", guest);
    if (guest == 0u) {
      cpu.doc().error(cpu.child_path("guest"), cpu.key_mark("guest"), "must be at least 1");
    }
    it.cpu_guest = guest.value_or(1);
    cpu.read("model", it.cpu_model);
    cpu.read("dedicatedCPUPlacement", it.dedicated_cpu_placement);
    cpu.read("isolateEmulatorThread", it.isolate_emulator_thread);
    cpu.read("maxSockets", it.max_sockets);
  });
  spec.read_map("memory", [&](MapReader& mem) {
    mem.require("guest");
    std::optional<std::uint64_t> guest;
    mem.read_bytes("guest", guest);
    it.memory_guest = guest.value_or(0);
    mem.read_map("hugepages", [&](MapReader& h) {
      h.require("pageSize");
      h.read_bytes("pageSize", it.hugepages_page_size);
    });
    mem.read_bytes("maxGuest", it.max_guest);
  });
  spec.read("ioThreadsPolicy", it.io_threads_policy);
}

void read_preference_devices(MapReader& dev, Preference& p) {
  dev.read("preferredDiskBus", p.disk_bus);
  dev.read("preferredCdromBus", p.cdrom_bus);
  dev.read("preferredLunBus", p.lun_bus);
  dev.read("preferredInterfaceModel", p.interface_model);
  dev.read("preferredInputBus", p.input_bus);
  dev.read("preferredInputType", p.input_type);
  dev.read("preferredDiskCache", p.disk_cache);
  dev.read("preferredDiskIO", p.disk_io);
  dev.read("preferredDiskDedicatedIoThread", p.disk_dedicated_io_thread);
  dev.read("preferredNetworkInterfaceMultiQueue", p.network_interface_multiqueue);
  dev.read("preferredBlockMultiQueue", p.block_multi_queue);
  dev.read("preferredAutoattachSerialConsole", p.autoattach_serial_console);
  dev.read("preferredAutoattachGraphicsDevice", p.autoattach_graphics_device);
  dev.read("preferredAutoattachMemBalloon", p.autoattach_mem_balloon);
  dev.read("preferredAutoattachInputDevice", p.autoattach_input_device);
  dev.read("preferredAutoattachPodInterface", p.autoattach_pod_interface);
  if (dev.read_marker("preferredRng")) {
    p.rng = true;
  }
  dev.read_map("preferredTPM", [&](MapReader& t) {
    TpmDevice tpm;
    t.read("persistent", tpm.persistent);
    p.tpm = tpm;
  });
}

void read_preference_spec(MapReader& spec, Preference& p) {
  spec.read_map("clock", [&](MapReader& clock) {
    clock.read_map("preferredClockOffset", [&](MapReader& off) {
      p.utc =
          off.read_map("utc", [&](MapReader& u) { u.read("offsetSeconds", p.utc_offset_seconds); });
    });
    clock.read_map("preferredTimer", [&](MapReader& t) {
      read_timer(t, "hpet", p.hpet);
      read_timer(t, "pit", p.pit);
      read_timer(t, "rtc", p.rtc);
      read_timer(t, "hyperv", p.hyperv_timer);
      read_timer(t, "kvm", p.kvm_timer);
    });
  });
  spec.read_map("cpu", [&](MapReader& cpu) {
    cpu.read("preferredCPUTopology", p.cpu_topology);
    if (p.cpu_topology && !is_topology(*p.cpu_topology)) {
      cpu.doc().error(cpu.child_path("preferredCPUTopology"), cpu.key_mark("preferredCPUTopology"),
                      fmt::format("\"{}\" is not one of {}", *p.cpu_topology, kTopologies));
    }
  });
  spec.read_map("devices", [&](MapReader& dev) { read_preference_devices(dev, p); });
  spec.read_map("features", [&](MapReader& f) {
    read_toggle(f, "preferredAcpi", p.acpi);
    read_toggle(f, "preferredApic", p.apic);
    read_toggle(f, "preferredSmm", p.smm);
    f.read_map("preferredKvm", [&](MapReader& k) { k.read("hidden", p.kvm_hidden); });
    f.read_map("preferredHyperv", [&](MapReader& h) {
      HypervFeatures hv;
      read_hyperv(h, hv);
      p.hyperv = hv;
    });
  });
  spec.read_map("firmware", [&](MapReader& fw) {
    fw.read("preferredUseEfi", p.use_efi);
    fw.read("preferredUseSecureBoot", p.use_secure_boot);
    fw.read("preferredUseBios", p.use_bios);
  });
  spec.read_map("machine", [&](MapReader& m) { m.read("preferredMachineType", p.machine_type); });
}

constexpr std::string_view kKinds =
    "VirtualMachineInstancetype, VirtualMachineClusterInstancetype, VirtualMachinePreference or "
    "VirtualMachineClusterPreference";

}  // namespace

std::expected<Preset, SpecErrors> read_preset(const YAML::Node& node, const std::string& file) {
  SourceMap source;
  source.set_file(file);
  SpecErrors errors;
  yaml::Document doc(source, errors);
  Preset preset;
  {
    MapReader top(doc, node, "", Mark{1, 1});
    std::optional<std::string> api_version, kind, name;
    top.read("apiVersion", api_version);
    top.require("kind");
    top.read("kind", kind);
    top.require("metadata");
    top.read_map("metadata", [&](MapReader& meta) {
      meta.require("name");
      meta.read("name", name);
      std::map<std::string, std::string> ignored;
      meta.read_string_map("labels", ignored);
      meta.read_string_map("annotations", ignored);
    });
    top.require("spec");
    const bool valid_kind =
        kind &&
        (*kind == "VirtualMachineInstancetype" || *kind == "VirtualMachineClusterInstancetype" ||
         *kind == "VirtualMachinePreference" || *kind == "VirtualMachineClusterPreference");
    const bool is_pref = valid_kind && kind->ends_with("Preference");
    if (!valid_kind) {
      if (kind) {
        doc.error("kind", yaml::mark_of(node["kind"]),
                  fmt::format("\"{}\" is not a preset kind; use {}", *kind, kKinds));
      }
      top.has("spec");  // not read: its shape depends on the kind
    } else if (is_pref) {
      Preference p;
      p.name = name.value_or("");
      p.file = file;
      top.read_map("spec", [&](MapReader& spec) { read_preference_spec(spec, p); });
      preset = std::move(p);
    } else {
      Instancetype it;
      it.name = name.value_or("");
      it.file = file;
      top.read_map("spec", [&](MapReader& spec) { read_instancetype_spec(spec, it); });
      preset = std::move(it);
    }
  }
  if (!errors.empty()) {
    return std::unexpected(std::move(errors));
  }
  return preset;
}

}  // namespace qmd::policy::presets
