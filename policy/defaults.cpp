// KubeVirt's defaults, filled into unset fields only, so that running this twice changes
// nothing and presets (applied before) keep precedence. Each default below is documented
// where it is set; the README lists them.
#include <cmath>

#include "policy/defaults_kubevirt.hpp"
#include "policy/validate.hpp"

namespace qmd::policy {
namespace {

// `{}` means on: a toggle present without `enabled` is enabled (KubeVirt's FeatureState).
void enable_if_present(std::optional<Toggle>& toggle) {
  if (toggle && !toggle->enabled) {
    toggle->enabled = true;
  }
}

void default_cpu(DomainSpec& d) {
  auto& cpu = d.cpu;
  if (!cpu.sockets && !cpu.cores && !cpu.threads) {
    // No topology: KubeVirt derives cores from the CPU limit, else the request (rounded up).
    const auto& quota = d.resources.limits.cpu ? d.resources.limits.cpu : d.resources.requests.cpu;
    if (quota && *quota > 0) {
      cpu.cores = static_cast<std::uint32_t>(std::ceil(*quota));
    }
  }
  // Any unset topology member is 1.
  for (auto* member : {&cpu.sockets, &cpu.cores, &cpu.threads}) {
    if (!*member) {
      *member = 1;
    }
  }
}

void default_memory(VmSpec& spec) {
  auto& d = spec.domain;
  kubevirt::align_guest_memory(spec, "domain.memory.guest");
  // Guest memory follows the memory request, else the limit (KubeVirt).
  if (!d.memory.guest) {
    const bool request = d.resources.requests.memory.has_value();
    d.memory.guest = request ? d.resources.requests.memory : d.resources.limits.memory;
    kubevirt::align_guest_memory(spec, request ? "domain.resources.requests.memory"
                                               : "domain.resources.limits.memory");
  }
}

void default_firmware(DomainSpec& d) {
  if (!d.machine.type) {
    d.machine.type = "q35";  // KubeVirt's machine type on x86
  }
  auto& fw = d.firmware;
  if (fw.bootloader == BootloaderKind::unset) {
    fw.bootloader = BootloaderKind::bios;  // SeaBIOS unless the spec asks for EFI
  }
  if (fw.bootloader == BootloaderKind::efi) {
    if (!fw.efi.secure_boot) {
      fw.efi.secure_boot = true;  // KubeVirt: efi: {} means secure boot
    }
    if (!fw.efi.persistent) {
      fw.efi.persistent = false;  // fresh VARS on every start unless asked
    }
  }
}

void default_clock(ClockSpec& clock) {
  if (!clock.utc_set && !clock.timezone) {
    clock.utc_set = true;  // the guest RTC runs in UTC
  }
  // A timer listed without `present` is present (KubeVirt).
  for (auto* timer : {&clock.hpet, &clock.pit, &clock.rtc, &clock.hyperv, &clock.kvm}) {
    if (*timer && !(*timer)->present) {
      (*timer)->present = true;
    }
  }
}

void default_hyperv(HypervFeatures& hv) {
  for (auto* t : {&hv.relaxed, &hv.vapic, &hv.vpindex, &hv.runtime, &hv.synic, &hv.reset,
                  &hv.frequencies, &hv.reenlightenment, &hv.ipi, &hv.evmcs}) {
    enable_if_present(*t);
  }
  if (hv.spinlocks) {
    if (!hv.spinlocks->enabled) {
      hv.spinlocks->enabled = true;
    }
    if (*hv.spinlocks->enabled && !hv.spinlocks->retries) {
      hv.spinlocks->retries = 4096;  // KubeVirt's spinlock retry count
    }
  }
  if (hv.synictimer) {
    if (!hv.synictimer->enabled) {
      hv.synictimer->enabled = true;
    }
    if (hv.synictimer->direct_set && !hv.synictimer->direct.enabled) {
      hv.synictimer->direct.enabled = true;
    }
  }
  if (hv.vendorid && !hv.vendorid->enabled) {
    hv.vendorid->enabled = true;
  }
  if (hv.tlbflush) {
    auto& tlb = *hv.tlbflush;
    if (!tlb.enabled) {
      tlb.enabled = true;
    }
    if (tlb.direct_set && !tlb.direct.enabled) {
      tlb.direct.enabled = true;
    }
    if (tlb.extended_set && !tlb.extended.enabled) {
      tlb.extended.enabled = true;
    }
  }
}

void default_features(FeaturesSpec& f) {
  for (auto* t : {&f.acpi, &f.apic, &f.smm, &f.hyperv_passthrough}) {
    enable_if_present(*t);
  }
  if (f.hyperv) {
    default_hyperv(*f.hyperv);
  }
}

void default_disks(std::vector<DiskDevice>& disks) {
  for (auto& disk : disks) {
    switch (disk.kind) {
      case DiskKind::disk:
        if (!disk.bus) {
          disk.bus = "virtio";
        }
        break;
      case DiskKind::cdrom:
        if (!disk.bus) {
          disk.bus = "sata";  // KubeVirt: CD-ROMs on SATA, read-only
        }
        if (!disk.readonly) {
          disk.readonly = true;
        }
        break;
      case DiskKind::lun:
        if (!disk.bus) {
          disk.bus = "scsi";
        }
        break;
    }
  }
}

void default_devices(VmSpec& spec) {
  auto& dev = spec.domain.devices;
  kubevirt::add_volume_disks(spec);
  default_disks(dev.disks);
  kubevirt::add_default_pod_network(spec);
  kubevirt::bridge_on_pod_network(spec);
  for (auto& nic : dev.interfaces) {
    if (!nic.model) {
      nic.model = "virtio";
    }
  }
  for (auto& input : dev.inputs) {
    if (!input.bus) {
      input.bus = "usb";
    }
  }
  if (dev.watchdog && !dev.watchdog->action) {
    dev.watchdog->action = "reset";
  }
  if (dev.tpm) {
    if (!dev.tpm->enabled) {
      dev.tpm->enabled = true;  // `tpm: {}` means a TPM
    }
    if (!dev.tpm->persistent) {
      dev.tpm->persistent = false;  // ephemeral TPM state unless asked
    }
  }
  // KubeVirt autoattaches a serial console, VNC graphics and a balloon, not an input device.
  for (auto* flag : {&dev.autoattach_serial_console, &dev.autoattach_graphics_device,
                     &dev.autoattach_mem_balloon, &dev.autoattach_pod_interface}) {
    if (!*flag) {
      *flag = true;
    }
  }
  if (!dev.autoattach_input_device) {
    dev.autoattach_input_device = false;
  }
  // ioThreadsPolicy stays unset on purpose: unset means KubeVirt's `shared`.
}

}  // namespace

VmSpec apply_defaults(VmSpec spec) {
  default_cpu(spec.domain);
  default_memory(spec);
  default_firmware(spec.domain);
  kubevirt::enable_smm_for_secure_boot(spec);
  kubevirt::enable_hyperv_prerequisites(spec);
  kubevirt::warn_cluster_annotations(spec);
  default_clock(spec.domain.clock);
  default_features(spec.domain.features);
  default_devices(spec);
  return spec;
}

std::string disk_bus(const DiskDevice& disk) {
  if (disk.bus) {
    return *disk.bus;
  }
  switch (disk.kind) {
    case DiskKind::cdrom:
      return "sata";
    case DiskKind::lun:
      return "scsi";
    case DiskKind::disk:
      break;
  }
  return "virtio";
}

}  // namespace qmd::policy
