// Expanding an instancetype and a preference into a VM spec (KubeVirt semantics: an
// instancetype owns what it sets; a preference only fills gaps).
#include <fmt/format.h>

#include "policy/defaults_kubevirt.hpp"
#include "policy/preset_model.hpp"

namespace qmd::policy::presets {
namespace {

template <typename T>
void fill(std::optional<T>& field, const std::optional<T>& preferred) {
  if (!field && preferred) {
    field = preferred;
  }
}

// Errors for each VM field the instancetype also sets.
class ConflictCheck {
 public:
  ConflictCheck(const VmSpec& spec, const Instancetype& it, SpecErrors& errors)
      : spec_(spec), it_(it), errors_(errors) {}

  void operator()(bool vm_sets, bool type_sets, std::string_view rel, std::string_view what) {
    if (vm_sets && type_sets) {
      errors_.push_back(spec_.source.error_at(
          rel, fmt::format("conflicts with instancetype \"{}\" (spec.instancetype.name), which "
                           "sets {}; remove this field or the instancetype",
                           it_.name, what)));
    }
  }

 private:
  const VmSpec& spec_;
  const Instancetype& it_;
  SpecErrors& errors_;
};

void check_conflicts(const VmSpec& spec, const Instancetype& it, SpecErrors& errors) {
  ConflictCheck conflict(spec, it, errors);
  const auto& cpu = spec.domain.cpu;
  const auto& mem = spec.domain.memory;
  const auto& res = spec.domain.resources;
  conflict(cpu.sockets.has_value(), true, "domain.cpu.sockets", "the vCPUs");
  conflict(cpu.cores.has_value(), true, "domain.cpu.cores", "the vCPUs");
  conflict(cpu.threads.has_value(), true, "domain.cpu.threads", "the vCPUs");
  conflict(res.requests.cpu.has_value(), true, "domain.resources.requests.cpu", "the vCPUs");
  conflict(res.limits.cpu.has_value(), true, "domain.resources.limits.cpu", "the vCPUs");
  conflict(mem.guest.has_value(), true, "domain.memory.guest", "the guest memory");
  conflict(res.requests.memory.has_value(), true, "domain.resources.requests.memory",
           "the guest memory");
  conflict(res.limits.memory.has_value(), true, "domain.resources.limits.memory",
           "the guest memory");
  conflict(cpu.model.has_value(), it.cpu_model.has_value(), "domain.cpu.model", "the CPU model");
  conflict(cpu.dedicated_cpu_placement.has_value(), it.dedicated_cpu_placement.has_value(),
           "domain.cpu.dedicatedCpuPlacement", "dedicatedCPUPlacement");
  conflict(cpu.isolate_emulator_thread.has_value(), it.isolate_emulator_thread.has_value(),
           "domain.cpu.isolateEmulatorThread", "isolateEmulatorThread");
  conflict(cpu.max_sockets.has_value(), it.max_sockets.has_value(), "domain.cpu.maxSockets",
           "maxSockets");
  conflict(mem.hugepages_page_size.has_value(), it.hugepages_page_size.has_value(),
           "domain.memory.hugepages.pageSize", "hugepages");
  conflict(mem.max_guest.has_value(), it.max_guest.has_value(), "domain.memory.maxGuest",
           "maxGuest");
  conflict(spec.domain.io_threads_policy.has_value(), it.io_threads_policy.has_value(),
           "domain.ioThreadsPolicy", "ioThreadsPolicy");
  conflict(cpu.numa_guest_mapping_passthrough.has_value(),
           it.numa_guest_mapping_passthrough.has_value(), "domain.cpu.numa", "cpu.numa");
  conflict(spec.domain.launch_security.kind != LaunchSecurityKind::none,
           it.launch_security.has_value(), "domain.launchSecurity", "launchSecurity");
}

void fill_clock(ClockSpec& clock, const Preference& p) {
  if (!clock.utc_set && !clock.timezone) {
    if (p.utc) {
      clock.utc_set = true;
      clock.utc_offset_seconds = p.utc_offset_seconds;
    } else {
      clock.timezone = p.timezone;
    }
  }
  fill(clock.hpet, p.hpet);
  fill(clock.pit, p.pit);
  fill(clock.rtc, p.rtc);
  fill(clock.hyperv, p.hyperv_timer);
  fill(clock.kvm, p.kvm_timer);
}

void fill_hyperv(HypervFeatures& hv, const HypervFeatures& p) {
  for (auto [field, preferred] :
       {std::pair{&hv.relaxed, &p.relaxed}, std::pair{&hv.vapic, &p.vapic},
        std::pair{&hv.vpindex, &p.vpindex}, std::pair{&hv.runtime, &p.runtime},
        std::pair{&hv.synic, &p.synic}, std::pair{&hv.reset, &p.reset},
        std::pair{&hv.frequencies, &p.frequencies},
        std::pair{&hv.reenlightenment, &p.reenlightenment}, std::pair{&hv.ipi, &p.ipi},
        std::pair{&hv.evmcs, &p.evmcs}}) {
    fill(*field, *preferred);
  }
  fill(hv.spinlocks, p.spinlocks);
  fill(hv.synictimer, p.synictimer);
  fill(hv.vendorid, p.vendorid);
  fill(hv.tlbflush, p.tlbflush);
}

void fill_features(FeaturesSpec& f, const Preference& p) {
  fill(f.acpi, p.acpi);
  fill(f.apic, p.apic);
  fill(f.smm, p.smm);
  fill(f.kvm_hidden, p.kvm_hidden);
  fill(f.pvspinlock, p.pvspinlock);
  // hypervPassthrough already turns everything on; adding features would contradict it.
  const bool passthrough = f.hyperv_passthrough && f.hyperv_passthrough->enabled.value_or(true);
  if (p.hyperv && !passthrough) {
    if (!f.hyperv) {
      f.hyperv.emplace();
    }
    fill_hyperv(*f.hyperv, *p.hyperv);
  }
}

void fill_devices(DevicesSpec& dev, const Preference& p) {
  for (auto& disk : dev.disks) {
    switch (disk.kind) {
      case DiskKind::disk:
        fill(disk.bus, p.disk_bus);
        fill(disk.dedicated_io_thread, p.disk_dedicated_io_thread);
        break;
      case DiskKind::cdrom:
        fill(disk.bus, p.cdrom_bus);
        break;
      case DiskKind::lun:
        fill(disk.bus, p.lun_bus);
        break;
    }
    fill(disk.cache, p.disk_cache);
    fill(disk.io, p.disk_io);
  }
  for (auto& nic : dev.interfaces) {
    fill(nic.model, p.interface_model);
  }
  for (auto& input : dev.inputs) {
    fill(input.bus, p.input_bus);
    if (input.type.empty() && p.input_type) {
      input.type = *p.input_type;
    }
  }
  fill(dev.tpm, p.tpm);
  fill(dev.rng, p.rng);
  fill(dev.network_interface_multiqueue, p.network_interface_multiqueue);
  fill(dev.block_multi_queue, p.block_multi_queue);
  fill(dev.autoattach_serial_console, p.autoattach_serial_console);
  fill(dev.autoattach_graphics_device, p.autoattach_graphics_device);
  fill(dev.autoattach_mem_balloon, p.autoattach_mem_balloon);
  fill(dev.autoattach_input_device, p.autoattach_input_device);
  fill(dev.autoattach_pod_interface, p.autoattach_pod_interface);
  fill(dev.use_virtio_transitional, p.use_virtio_transitional);
  // A video type sets the type of the graphics device; none is there to type without it.
  if (dev.autoattach_graphics_device.value_or(true)) {
    fill(dev.video_type, p.video_type);
  }
}

// KubeVirt sets the bootloader from the preference only when the VM names none.
void fill_firmware(DomainSpec& d, const Preference& p) {
  auto& fw = d.firmware;
  if (fw.bootloader == BootloaderKind::unset) {
    if (p.efi) {
      fw.bootloader = BootloaderKind::efi;
      fw.efi = *p.efi;
    } else if (p.use_bios.value_or(false)) {
      fw.bootloader = BootloaderKind::bios;
    }
  }
  fill(d.machine.type, p.machine_type);
}

// Each accepted field without an effect here, as a warning on the VM that names the preset.
void warn_unapplied(VmSpec& spec, const SpecErrors& unapplied, std::string_view what,
                    const std::string& name) {
  for (const auto& note : unapplied) {
    add_warning(spec, SpecError{note.path, fmt::format("{} \"{}\": {}", what, name, note.message),
                                note.file, note.mark});
  }
}

}  // namespace

void apply_instancetype(VmSpec& spec, const Instancetype& it, const Preference* pref,
                        SpecErrors& errors) {
  const auto before = errors.size();
  check_conflicts(spec, it, errors);
  auto spread = spread_vcpus(it.cpu_guest, pref);
  if (!spread) {
    errors.push_back(spec.source.error_at_full("spec.preference.name", spread.error()));
  }
  if (errors.size() != before) {
    return;
  }
  auto& cpu = spec.domain.cpu;
  cpu.sockets = spread->sockets;
  cpu.cores = spread->cores;
  cpu.threads = spread->threads;
  fill(cpu.model, it.cpu_model);
  fill(cpu.dedicated_cpu_placement, it.dedicated_cpu_placement);
  fill(cpu.isolate_emulator_thread, it.isolate_emulator_thread);
  fill(cpu.numa_guest_mapping_passthrough, it.numa_guest_mapping_passthrough);
  fill(cpu.max_sockets, it.max_sockets);
  auto& mem = spec.domain.memory;
  mem.guest = it.memory_guest;
  fill(mem.hugepages_page_size, it.hugepages_page_size);
  fill(mem.max_guest, it.max_guest);
  fill(spec.domain.io_threads_policy, it.io_threads_policy);
  if (it.launch_security) {
    spec.domain.launch_security = *it.launch_security;
  }
  warn_unapplied(spec, it.unapplied, "instancetype", it.name);
}

void apply_preference(VmSpec& spec, const Preference& pref) {
  fill_clock(spec.domain.clock, pref);
  fill_features(spec.domain.features, pref);
  // KubeVirt adds the implied disks and the default interface first, so that preferred
  // buses and the preferred interface model (e1000e for Windows) apply to them too.
  fill(spec.domain.devices.autoattach_pod_interface, pref.autoattach_pod_interface);
  kubevirt::add_volume_disks(spec);
  kubevirt::add_default_pod_network(spec);
  fill_devices(spec.domain.devices, pref);
  fill_firmware(spec.domain, pref);
  fill(spec.termination_grace_period_seconds, pref.termination_grace_period_seconds);
  fill(spec.subdomain, pref.subdomain);
  if (spec.domain.cpu.features.empty()) {
    spec.domain.cpu.features = pref.cpu_features;
  }
  if (pref.launch_security && pref.launch_security->kind != LaunchSecurityKind::none &&
      spec.domain.launch_security.kind == LaunchSecurityKind::none) {
    spec.domain.launch_security = *pref.launch_security;
  }
  for (const auto& [key, value] : pref.annotations) {
    spec.annotations.try_emplace(key, value);  // the VM's own annotations win
  }
  if (pref.architecture && *pref.architecture != "amd64") {
    add_warning(spec, SpecError{"spec.preferredArchitecture",
                                fmt::format("preference \"{}\": prefers {}, but this host runs "
                                            "amd64 guests only; the VM runs as amd64",
                                            pref.name, *pref.architecture),
                                pref.file, pref.architecture_mark});
  }
  warn_unapplied(spec, pref.unapplied, "preference", pref.name);
}

}  // namespace qmd::policy::presets
