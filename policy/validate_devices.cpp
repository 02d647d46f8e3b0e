// Disks (and their volumes), boot order, inputs, watchdog and TPM.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <regex>

#include "policy/validate_rules.hpp"

namespace qmd::policy::rules {
namespace {

std::string disk_path(std::size_t i) { return fmt::format("domain.devices.disks[{}]", i); }

const char* kind_key(DiskKind kind) {
  switch (kind) {
    case DiskKind::cdrom:
      return "cdrom";
    case DiskKind::lun:
      return "lun";
    case DiskKind::disk:
      break;
  }
  return "disk";
}

void validate_disk_bus(const VmSpec& spec, std::size_t i, const DiskDevice& disk,
                       SpecErrors& errors) {
  const auto rel = fmt::format("{}.{}.bus", disk_path(i), kind_key(disk.kind));
  switch (disk.kind) {
    case DiskKind::disk:
      check_one_of(spec, rel, disk.bus, {"virtio", "sata", "scsi", "usb"}, errors);
      break;
    case DiskKind::cdrom:
      check_one_of(spec, rel, disk.bus, {"sata", "scsi"}, errors);
      break;
    case DiskKind::lun:
      check_one_of(spec, rel, disk.bus, {"scsi"}, errors);
      break;
  }
}

// What the SCSI and ATA identify data can say: 1 is "non-rotating medium", 1025 to 65534 are
// rpm; the values between are reserved. virtio-blk and USB disks report none.
void validate_rotation_rate(const VmSpec& spec, std::size_t i, const DiskDevice& disk,
                            SpecErrors& errors) {
  if (!disk.rotation_rate) {
    return;
  }
  const auto at = fmt::format("{}.{}.rotationRate", disk_path(i), kind_key(disk.kind));
  const auto rate = *disk.rotation_rate;
  if (rate != 1 && (rate < 1025 || rate > 65534)) {
    errors.push_back(spec.source.error_at(
        at, fmt::format("{} is not a rotation rate: use 1 for a non-rotating disk (SSD) or "
                        "1025 to 65534 rpm",
                        rate)));
  }
  const auto bus = disk.bus.value_or(disk.kind == DiskKind::disk ? "virtio" : "scsi");
  if (disk.kind == DiskKind::cdrom || (bus != "scsi" && bus != "sata")) {
    errors.push_back(spec.source.error_at(
        at, fmt::format("needs a disk on bus scsi or sata (this {} is on {}): only those "
                        "report a rotation rate",
                        kind_key(disk.kind), bus)));
  }
}

void validate_disk(const VmSpec& spec, std::size_t i, const DiskDevice& disk, SpecErrors& errors) {
  const auto base = disk_path(i);
  validate_disk_bus(spec, i, disk, errors);
  check_one_of(spec, base + ".cache", disk.cache, {"none", "writethrough", "writeback"}, errors);
  check_one_of(spec, base + ".io", disk.io, {"native", "threads"}, errors);
  if (disk.io == "native" && disk.cache && *disk.cache != "none") {
    errors.push_back(spec.source.error_at(
        base + ".io", fmt::format("native needs cache: none, not {} (QEMU needs O_DIRECT for "
                                  "aio=native)",
                                  *disk.cache)));
  }
  if (disk.dedicated_io_thread.value_or(false) && disk.bus.value_or("virtio") != "virtio") {
    errors.push_back(spec.source.error_at(
        base + ".dedicatedIOThread",
        fmt::format("needs bus virtio (the disk is on {})", disk.bus.value_or(""))));
  }
  validate_rotation_rate(spec, i, disk, errors);
  static const std::regex kSerial("[A-Za-z0-9_.-]{1,20}");
  if (disk.serial && !std::regex_match(*disk.serial, kSerial)) {
    errors.push_back(spec.source.error_at(
        base + ".serial",
        fmt::format("\"{}\" must be 1 to 20 of A-Z a-z 0-9 _ - .", *disk.serial)));
  }
}

// A volume without a disk has one by now: apply_defaults adds it, as KubeVirt does.
void validate_disks(const VmSpec& spec, SpecErrors& errors) {
  const auto& disks = spec.domain.devices.disks;
  std::map<std::string, std::size_t> seen;
  for (std::size_t i = 0; i < disks.size(); ++i) {
    const auto& disk = disks[i];
    if (auto [it, fresh] = seen.emplace(disk.name, i); !fresh) {
      errors.push_back(spec.source.error_at(
          disk_path(i) + ".name",
          fmt::format("\"{}\" is already the name of disks[{}]", disk.name, it->second)));
    }
    validate_disk(spec, i, disk, errors);
    bool has_volume = false;
    for (const auto& v : spec.volumes) {
      has_volume = has_volume || v.name == disk.name;
    }
    if (!has_volume && disk.kind != DiskKind::cdrom) {  // a cdrom without one is empty
      errors.push_back(spec.source.error_at(
          disk_path(i) + ".name",
          fmt::format("disk \"{}\" has no volume of the same name; add volumes: - name: {}",
                      disk.name, disk.name)));
    }
  }
}

// Boot order is one sequence over disks and interfaces.
void validate_boot_order(const VmSpec& spec, SpecErrors& errors) {
  std::map<std::uint32_t, std::string> seen;
  auto check = [&](const std::string& rel, const std::optional<std::uint32_t>& order) {
    if (!order) {
      return;
    }
    if (*order < 1) {
      errors.push_back(spec.source.error_at(rel + ".bootOrder", "must be at least 1"));
    } else if (auto [it, fresh] = seen.emplace(*order, rel); !fresh) {
      errors.push_back(spec.source.error_at(
          rel + ".bootOrder", fmt::format("{} is already used by {}", *order,
                                          it->second.substr(it->second.rfind('.') + 1))));
    }
  };
  const auto& dev = spec.domain.devices;
  for (std::size_t i = 0; i < dev.disks.size(); ++i) {
    check(disk_path(i), dev.disks[i].boot_order);
  }
  for (std::size_t i = 0; i < dev.interfaces.size(); ++i) {
    check(fmt::format("domain.devices.interfaces[{}]", i), dev.interfaces[i].boot_order);
  }
}

void validate_inputs(const VmSpec& spec, SpecErrors& errors) {
  const auto& inputs = spec.domain.devices.inputs;
  std::map<std::string, std::size_t> seen;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const auto base = fmt::format("domain.devices.inputs[{}]", i);
    if (auto [it, fresh] = seen.emplace(inputs[i].name, i); !fresh) {
      errors.push_back(spec.source.error_at(
          base + ".name",
          fmt::format("\"{}\" is already the name of inputs[{}]", inputs[i].name, it->second)));
    }
    check_one_of(spec, base + ".type", inputs[i].type, {"tablet", "keyboard"}, errors);
    check_one_of(spec, base + ".bus", inputs[i].bus, {"usb", "virtio"}, errors);
  }
}

// KubeVirt's amd64 video types; the device itself is the graphics device autoattach adds.
void validate_video(const VmSpec& spec, SpecErrors& errors) {
  const auto& dev = spec.domain.devices;
  check_one_of(spec, "domain.devices.video.type", dev.video_type,
               {"vga", "virtio", "bochs", "ramfb"}, errors);
  if (dev.video_type && !dev.autoattach_graphics_device.value_or(true)) {
    errors.push_back(spec.source.error_at(
        "domain.devices.video",
        "sets the graphics device's type, but autoattachGraphicsDevice is false: remove "
        "devices.video or set autoattachGraphicsDevice to true"));
  }
}

void validate_watchdog_tpm(const VmSpec& spec, const RunPolicy& policy, SpecErrors& errors) {
  const auto& dev = spec.domain.devices;
  if (dev.watchdog) {
    check_one_of(spec, "domain.devices.watchdog.i6300esb.action", dev.watchdog->action,
                 {"poweroff", "reset", "shutdown"}, errors);
  }
  if (dev.tpm && dev.tpm->enabled.value_or(true) && dev.tpm->persistent.value_or(false) &&
      policy.state_dir.empty()) {
    errors.push_back(spec.source.error_at(
        "domain.devices.tpm.persistent",
        "a persistent TPM needs a state directory, and qmd has none configured; set "
        "persistent: false or configure a state directory"));
  }
}

// QEMU refuses to start past these. SATA: q35's ich9-ahci and the ahci qmd adds on pc both
// have six ports. pc: pci.0 slots 0x3-0x1f are free (0x0 host bridge, 0x1 PIIX3, 0x2 VGA).
constexpr std::size_t kSataPorts = 6;
constexpr std::size_t kPcPciSlots = 0x1f - 0x3 + 1;

// The PCI devices the renderer places (cmdline/devices_layout.cpp), spare hotplug slots not
// counted: on pc they are only addresses, nothing QEMU sees.
std::size_t pci_devices(const VmSpec& spec) {
  const auto& devs = spec.domain.devices;
  bool usb = false, scsi = false, sata = false;
  std::size_t n = 1;  // virtio-serial
  for (const auto& d : devs.disks) {
    const auto bus = disk_bus(d);
    usb |= bus == "usb";
    scsi |= bus == "scsi";
    sata |= bus == "sata";
    n += bus == "virtio" ? 1 : 0;
  }
  if (devs.inputs.empty()) {
    usb |= devs.autoattach_input_device.value_or(false);  // the default tablet is USB
  }
  for (const auto& i : devs.inputs) {
    usb |= i.bus.value_or("usb") == "usb";
    n += i.bus.value_or("usb") == "virtio" ? 1 : 0;
  }
  const bool pod_nic = devs.interfaces.empty() && spec.networks.empty() &&
                       devs.autoattach_pod_interface.value_or(true);
  n += pod_nic ? 1 : devs.interfaces.size();
  n += (usb ? 1 : 0) + (scsi ? 1 : 0) + (sata ? 1 : 0);
  n += devs.autoattach_mem_balloon.value_or(true) ? 1 : 0;
  n += devs.rng.value_or(false) ? 1 : 0;
  n += devs.watchdog ? 1 : 0;
  const auto& mem = spec.domain.memory;
  n += mem.max_guest && *mem.max_guest > mem.guest.value_or(0) ? 1 : 0;
  return n;
}

void validate_device_counts(const VmSpec& spec, SpecErrors& errors) {
  const auto& disks = spec.domain.devices.disks;
  const auto sata = static_cast<std::size_t>(
      std::ranges::count_if(disks, [](const DiskDevice& d) { return disk_bus(d) == "sata"; }));
  if (sata > kSataPorts) {
    errors.push_back(spec.source.error_at(
        "domain.devices.disks",
        fmt::format("{} disks and cdroms are on bus sata, but the SATA controller has {} ports; "
                    "put disks on bus virtio or scsi",
                    sata, kSataPorts)));
  }
  const auto type = spec.domain.machine.type.value_or("q35");
  const bool pc = !type.starts_with("q35") && !type.starts_with("pc-q35");
  if (const auto n = pci_devices(spec); pc && n > kPcPciSlots) {
    errors.push_back(spec.source.error_at(
        "domain.devices",
        fmt::format("machine {} has {} free PCI slots, and these devices need {}; use machine "
                    "q35, or put disks on bus scsi and drop devices",
                    type, kPcPciSlots, n)));
  }
}

}  // namespace

void validate_devices(const VmSpec& spec, const RunPolicy& policy, SpecErrors& errors) {
  validate_disks(spec, errors);
  validate_boot_order(spec, errors);
  validate_inputs(spec, errors);
  validate_video(spec, errors);
  validate_watchdog_tpm(spec, policy, errors);
  validate_device_counts(spec, errors);
}

}  // namespace qmd::policy::rules
