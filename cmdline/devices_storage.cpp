// DisksConfigurator: spec disks + volumes -> block node chains and guest disk devices.
#include <fmt/format.h>

#include <optional>

#include "cmdline/device_configurators.hpp"
#include "cmdline/devices_layout.hpp"
#include "cmdline/devices_params.hpp"
#include "devices/controllers.hpp"
#include "devices/disk.hpp"

namespace qmd::cmdline {

namespace {

const policy::Volume* find_volume(const policy::VmSpec& spec, const std::string& name) {
  for (const auto& v : spec.volumes) {
    if (v.name == name) {
      return &v;
    }
  }
  return nullptr;
}

// A claim or a container disk, as the daemon found it on this host: the claim itself, or a
// per-run qcow2 overlay in the run directory over the image or (ephemeral) the claim
// (KubeVirt's containerDisk and ephemeral: the guest's writes are gone at the stop).
// Offline (`qmctl render`) nothing is found: a note.
std::optional<devices::DiskParams> claim_disk(const policy::Volume& v, const VmPaths& paths,
                                              RenderResult& out) {
  if (!v.resolved) {
    out.warnings.push_back(fmt::format(
        "volume \"{}\": {} {} is looked up by qmd when the VM starts (storage.{} in qmd.yaml); "
        "its disk is left out here",
        v.name, v.kind == policy::VolumeKind::container_disk ? "image" : "claim", v.claim_name,
        v.kind == policy::VolumeKind::container_disk ? "images" : "claims"));
    return std::nullopt;
  }
  devices::DiskParams p;
  if (v.kind != policy::VolumeKind::container_disk && v.kind != policy::VolumeKind::ephemeral) {
    p.path = v.resolved->path;
    p.format = v.resolved->format;
    p.host_device = v.resolved->device;
    return p;
  }
  p.path = fmt::format("{}/overlay-{}.qcow2", paths.run_dir, v.name);
  p.format = "qcow2";
  p.backing = devices::BackingImage{v.resolved->path, v.resolved->format, v.resolved->device};
  out.prepare.push_back({FilePrep::Kind::create_image_if_missing, "", p.path,
                         v.resolved->virtual_size, "qcow2", 0600});
  return p;
}

// Fills path/format/host_device from the volume; nullopt (with a warning) when the volume
// cannot be opened by QEMU directly.
std::optional<devices::DiskParams> backing(const policy::VmSpec& spec, const policy::Volume& v,
                                           const VmPaths& paths, RenderResult& out) {
  devices::DiskParams p;
  p.path = v.path;
  p.format = v.format.value_or("raw");
  switch (v.kind) {
    case policy::VolumeKind::host_disk:
      p.format = "raw";
      if (v.host_disk_type.value_or("Disk") == "DiskOrCreate" && v.capacity) {
        out.prepare.push_back(
            {FilePrep::Kind::create_image_if_missing, "", v.path, *v.capacity, "raw", 0600});
      }
      return p;
    case policy::VolumeKind::file:
      return p;
    case policy::VolumeKind::block:
      p.host_device = true;
      p.format = "raw";
      return p;
    case policy::VolumeKind::empty_disk:
      // KubeVirt's emptyDisk: scratch space that lives as long as the VM runs.
      p.path = fmt::format("{}/empty-{}.img", paths.run_dir, v.name);
      p.format = "raw";
      out.prepare.push_back({FilePrep::Kind::create_image_if_missing, "", p.path,
                             v.capacity.value_or(0), "raw", 0600});
      return p;
    case policy::VolumeKind::persistent_volume_claim:
    case policy::VolumeKind::data_volume:
    case policy::VolumeKind::container_disk:
    case policy::VolumeKind::ephemeral:
      return claim_disk(v, paths, out);
    case policy::VolumeKind::cloud_init_no_cloud:
    case policy::VolumeKind::cloud_init_config_drive:
      out.seeds.push_back(cloud_init_seed(spec, v, paths));
      p.path = out.seeds.back().path;
      p.format = "raw";
      return p;
    case policy::VolumeKind::sysprep:
      out.seeds.push_back(sysprep_seed(v, paths));
      p.path = out.seeds.back().path;
      p.format = "raw";
      return p;
  }
  out.warnings.push_back(
      fmt::format("volume \"{}\" has no local path qmd can open; its disk is left out", v.name));
  return std::nullopt;
}

}  // namespace

std::optional<devices::DiskParams> disk_params(const policy::VmSpec& spec,
                                               const policy::DiskDevice& disk,
                                               const DiskPlace& place, const DeviceFacts& facts,
                                               const VmPaths& paths, RenderResult& out) {
  const auto* volume = find_volume(spec, disk.name);
  const bool empty_cdrom = volume == nullptr && disk.kind == policy::DiskKind::cdrom;
  if (volume == nullptr && !empty_cdrom) {
    out.warnings.push_back(
        fmt::format("disk \"{}\" has no volume of the same name; left out", disk.name));
    return std::nullopt;
  }
  // A cdrom without a volume is an empty drive (KubeVirt's): a medium comes at run time.
  auto params = empty_cdrom ? std::optional<devices::DiskParams>(devices::DiskParams{})
                            : backing(spec, *volume, paths, out);
  if (!params) {
    return std::nullopt;
  }
  const auto& devs = spec.domain.devices;
  params->name = disk.name;
  params->cdrom = disk.kind == policy::DiskKind::cdrom;
  params->empty = empty_cdrom;
  params->bus = disk_bus(disk);
  params->readonly = disk.readonly.value_or(params->cdrom);
  params->boot_order = disk.boot_order;
  params->serial = disk.serial;
  params->rotation_rate = disk.rotation_rate;
  params->cache = disk.cache;
  params->io = disk.io;
  params->transitional = devs.use_virtio_transitional.value_or(false);
  params->unit = place.unit;
  if (params->bus == "virtio") {
    params->pci = place.pci;
    params->iothread = place.iothread;
    if (devs.block_multi_queue.value_or(false)) {
      params->queues = facts.vcpus;
    }
  } else if (params->bus == "sata") {
    params->controller_bus = devices::sata_bus(facts.q35, place.unit);
  } else if (params->bus == "scsi") {
    params->controller_bus = devices::scsi_bus;
  } else {
    params->controller_bus = devices::usb_bus;
  }
  return params;
}

void DisksConfigurator::configure(const policy::VmSpec& spec, RenderResult& out) const {
  const auto layout = layout_devices(spec, facts_);
  for (const auto& disk : spec.domain.devices.disks) {
    DiskPlace place;
    if (const auto it = layout.disks.find(disk.name); it != layout.disks.end()) {
      place.pci = it->second;
      place.iothread = layout.disk_iothread.at(disk.name);
    }
    if (const auto it = layout.disk_units.find(disk.name); it != layout.disk_units.end()) {
      place.unit = it->second;
    }
    if (const auto params = disk_params(spec, disk, place, facts_, paths_, out)) {
      out.argv.append(devices::disk_options(devices::disk_parts(*params)));
    }
  }
}

}  // namespace qmd::cmdline
