// Disk hotplug: what a disk attach or detach adds to the shared core (vm_hotplug.cpp) — its
// checks, where it goes (a spare root port for virtio, the next LUN on scsi0.0 for scsi),
// its block nodes and how it appears in the stored definition.
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <cctype>
#include <cerrno>
#include <cstring>

#include "cmdline/devices_layout.hpp"
#include "daemon/runtime/vm_hotplug_core.hpp"
#include "daemon/runtime/disk_fds.hpp"
#include "qmp/commands.hpp"
#include "devices/disk.hpp"

namespace qmd::daemon {

using hotplug::bad_request;
using hotplug::conflict;

namespace {

struct AttachFile {
  UniqueFd fd;  // what QEMU gets: read-write, or read-only for a read-only disk
  struct stat st {};
  std::string format;
};

// The image, opened beneath a storage root (in the mode the disk needs) before anything about
// it is looked at: a path outside the roots gets the same answer whether it exists or not.
std::expected<AttachFile, OpError> check_file(const Vm::DiskAttach& d,
                                              const std::vector<std::string>& roots) {
  auto fds = open_disk_image(d.path, d.readonly, roots, "");
  if (!fds) {
    return std::unexpected(bad_request(fmt::format("cannot attach: {}", fds.error())));
  }
  AttachFile file;
  file.fd = std::move(fds->front());
  if (::fstat(file.fd.get(), &file.st) != 0) {
    return std::unexpected(
        bad_request(fmt::format("cannot attach {}: {}", d.path, std::strerror(errno))));
  }
  file.format =
      d.format.value_or(S_ISBLK(file.st.st_mode) ? "raw" : hotplug::sniff_format(file.fd.get()));
  return file;
}

// QEMU knows the image only as its fd set (or not at all: device_add's lock error leaves the
// image out); the user knows it by its path. A lock refusal is the caller's conflict.
OpError about_image(OpError error, std::int64_t fdset, const std::string& path) {
  const std::string set = fmt::format("/dev/fdset/{}", fdset);
  for (auto at = error.message.find(set); at != std::string::npos;) {
    const auto end = at + set.size();
    if (end < error.message.size() && std::isdigit(static_cast<unsigned char>(error.message[end]))) {
      at = error.message.find(set, end);  // /dev/fdset/12 is not set 1
      continue;
    }
    error.message.replace(at, set.size(), path);
    at = error.message.find(set, at + path.size());
  }
  if (error.message.find("Failed to get") != std::string::npos &&
      error.message.find("lock") != std::string::npos) {
    error.code = OpError::Code::conflict;
    error.message += fmt::format(
        " on {}: a running VM (this one or another) already uses the image writable; attach "
        "it with --readonly, or detach or stop its other user first",
        path);
  } else if (error.message.find(path) == std::string::npos) {
    error.message += fmt::format(" (image {})", path);
  }
  return error;
}

// The request alone: its name, bus, cache and format.
std::expected<void, OpError> check_request(const Vm::DiskAttach& d) {
  if (!hotplug::valid_name(d.name)) {
    return std::unexpected(bad_request(fmt::format(
        "disk name \"{}\" must be 1-24 lower-case letters, digits and '-'", d.name)));
  }
  if (d.bus != "virtio" && d.bus != "scsi") {
    return std::unexpected(
        bad_request(fmt::format("bus \"{}\": hotplug takes virtio or scsi", d.bus)));
  }
  if (d.cache && *d.cache != "none" && *d.cache != "writethrough" && *d.cache != "writeback") {
    return std::unexpected(bad_request(
        fmt::format("cache \"{}\": use none, writethrough or writeback", *d.cache)));
  }
  if (d.format && *d.format != "raw" && *d.format != "qcow2") {
    return std::unexpected(
        bad_request(fmt::format("format \"{}\": use raw or qcow2", *d.format)));
  }
  return {};
}

// The lowest LUN on scsi0.0 that neither a spec disk (coldplug numbers them from 0) nor a
// disk hot-added in this run holds; none when the VM has no SCSI controller.
std::expected<std::uint32_t, OpError> free_lun(const std::string& vm,
                                               const std::vector<policy::DiskDevice>& spec_disks,
                                               const hotplug::Devices& added) {
  std::uint32_t boot_luns = 0;
  for (const auto& disk : spec_disks) {
    boot_luns += cmdline::disk_bus(disk) == "scsi" ? 1 : 0;
  }
  if (boot_luns == 0) {
    return std::unexpected(conflict(fmt::format(
        "VM {} has no SCSI controller (it is rendered only for a spec with a scsi disk); "
        "attach with bus virtio",
        vm)));
  }
  std::set<std::uint32_t> used;
  for (std::uint32_t lun = 0; lun < boot_luns; ++lun) {
    used.insert(lun);
  }
  for (const auto& [_, disk] : added.added) {
    if (disk.bus == "scsi") {
      used.insert(disk.lun);
    }
  }
  std::uint32_t lun = 0;
  while (used.contains(lun)) {
    ++lun;
  }
  return lun;
}

bool in_definition(const policy::VmSpec& spec, const std::string& name) {
  return std::ranges::any_of(spec.domain.devices.disks,
                             [&](const policy::DiskDevice& disk) { return disk.name == name; });
}

// The disk's name free in this run (and, with --persist, in the definition).
OpResult check_new_disk(const std::string& vm, const Vm::DiskAttach& d,
                        const hotplug::Devices& disks, const policy::VmSpec& spec) {
  const bool in_spec = in_definition(spec, d.name);
  if ((in_spec && !disks.gone.contains(d.name)) || disks.added.contains(d.name)) {
    return std::unexpected(
        conflict(fmt::format("VM {} already has a disk named {}", vm, d.name)));
  }
  if (in_spec && d.persist) {
    return std::unexpected(conflict(fmt::format(
        "disk {} is still in the definition of VM {} (detached for this run only); attach it "
        "without --persist, or detach it with --persist first",
        d.name, vm)));
  }
  return {};
}

// The definition edit of `attach-disk --persist`: a disk and its file or block volume.
std::function<void(YAML::Node)> persist_edit(const Vm::DiskAttach& d, const std::string& format,
                                             bool block) {
  return [d, format, block](YAML::Node tmpl) {
    YAML::Node disk;
    disk["name"] = d.name;
    disk["disk"]["bus"] = d.bus;
    if (d.readonly) {
      disk["disk"]["readonly"] = true;
    }
    if (d.cache) {
      disk["cache"] = *d.cache;
    }
    tmpl["domain"]["devices"]["disks"].push_back(disk);
    YAML::Node volume;
    volume["name"] = d.name;
    if (block) {
      volume["block"]["path"] = d.path;
    } else {
      volume["file"]["path"] = d.path;
      volume["file"]["format"] = format;
    }
    tmpl["volumes"].push_back(volume);
  };
}

// The nodes and device of a disk whose file is an fd set (`params.path` is /dev/fdset/N), as
// attach steps with their undos.
std::vector<hotplug::Step> node_steps(const devices::DiskParams& params) {
  auto parts = devices::disk_parts(params);
  parts.file_node["auto-read-only"] = false;  // the set holds one mode; QEMU must not ask another
  // disk_parts already keeps QEMU from a qcow2 header's backing file (the guest may have
  // written it): the only backing is one qmd names.
  const auto calls = devices::disk_hotplug(parts);    // file node, format node, device
  const auto release = devices::disk_release(parts);  // format node, file node
  // A node QEMU refuses is the caller's file or format; a refused device_add is ours.
  return {{calls[0], release[1], OpError::Code::bad_request},
          {calls[1], release[0], OpError::Code::bad_request},
          {calls[2], std::nullopt, OpError::Code::failed}};
}

}  // namespace

// The checks (request, file, name), where the disk goes, then the fd-set node and the
// persist edit (helpers above).
asio::awaitable<OpResult> Vm::attach_disk(DiskAttach request) {
  if (auto movable = check_migration(VmAction::hotplug, "attach-disk"); !movable) {
    co_return movable;
  }
  auto guard = co_await lock_.lock();
  auto scope = hotplug_scope("attach-disk");
  if (!scope) {
    co_return std::unexpected(scope.error());
  }
  const auto& d = request;
  if (auto checked = check_request(d); !checked) {
    co_return std::unexpected(checked.error());
  }
  auto file = check_file(d, storage_roots(ctx_.config));
  if (!file) {
    co_return std::unexpected(file.error());
  }
  if (auto free = check_new_disk(name_, d, scope->state->disks, scope->spec); !free) {
    co_return free;
  }
  devices::DiskParams params;
  params.name = d.name;
  params.path = d.path;
  params.host_device = S_ISBLK(file->st.st_mode);
  params.format = file->format;
  params.bus = d.bus;
  params.readonly = d.readonly;
  params.cache = d.cache;
  auto placed = co_await place_disk(*scope, std::move(params));
  if (!placed) {
    co_return std::unexpected(placed.error());
  }
  auto attached = co_await attach_disk_fd(*scope, request, std::move(*placed),
                                          std::move(file->fd));
  co_return attached;
}

// A virtio disk on the first free PCI slot, a scsi one on the first free LUN of scsi0.0.
asio::awaitable<std::expected<devices::DiskParams, OpError>> Vm::place_disk(
    HotplugScope& scope, devices::DiskParams params) {
  if (params.bus == "virtio") {
    auto slot =
        co_await hotplug::free_pci_slot(*scope.run->qmp, name_, hotplug::is_q35(scope.spec));
    if (!slot) {
      co_return std::unexpected(slot.error());
    }
    params.pci = *slot;
    co_return params;
  }
  auto lun = free_lun(name_, scope.spec.domain.devices.disks, scope.state->disks);
  if (!lun) {
    co_return std::unexpected(lun.error());
  }
  params.controller_bus = "scsi0.0";
  params.unit = *lun;
  co_return params;
}

// QEMU opens the fd set, never the path: an image its user cannot open still attaches. The
// node holds its own dup of the descriptor; the monitor's hold goes either way.
asio::awaitable<OpResult> Vm::attach_disk_fd(HotplugScope& scope, DiskAttach d,
                                             devices::DiskParams params, UniqueFd fd) {
  AttachPlan plan;
  plan.kind = hotplug::kDisk;
  plan.noun = "disk";
  plan.name = d.name;
  plan.placed.bus = d.bus;
  if (!params.pci) {
    plan.placed.lun = params.unit;
  }
  if (d.persist) {
    plan.persist = persist_edit(d, params.format, params.host_device);
  }
  const std::string opaque = "disk " + d.name;
  auto fdset = co_await qmp::add_fd(*scope.run->qmp, std::move(fd), opaque);
  if (!fdset) {
    const std::string what = "attaching disk " + d.name + " (add-fd)";
    co_return std::unexpected(
        hotplug::qmp_failure(name_, what, fdset.error(), OpError::Code::failed));
  }
  params.path = fmt::format("/dev/fdset/{}", fdset->fdset_id);
  plan.steps = node_steps(params);
  plan.event = "DiskAttached";
  plan.message = fmt::format("disk {} ({}, {}) attached on {}", d.name, d.path, params.format,
                             params.pci ? params.pci->bus : params.controller_bus);
  auto attached = co_await attach_planned(scope, std::move(plan));
  auto released = co_await qmp::remove_fd(*scope.run->qmp, fdset->fdset_id);
  if (!released) {
    spdlog::warn("VM {}: remove-fd of disk {}'s fd set {}: {}", name_, d.name, fdset->fdset_id,
                 released.error().to_string());
  }
  if (!attached) {
    co_return std::unexpected(about_image(std::move(attached.error()), fdset->fdset_id, d.path));
  }
  co_return attached;
}

asio::awaitable<OpResult> Vm::detach_disk(std::string disk, bool persist) {
  if (auto movable = check_migration(VmAction::hotplug, "detach-disk"); !movable) {
    co_return movable;
  }
  auto guard = co_await lock_.lock();
  auto scope = hotplug_scope("detach-disk");
  if (!scope) {
    co_return std::unexpected(scope.error());
  }
  DetachPlan plan;
  plan.kind = hotplug::kDisk;
  plan.noun = "disk";
  plan.name = disk;
  plan.id = devices::disk_id(disk);
  plan.in_spec = in_definition(scope->spec, disk);
  plan.persist = [disk](YAML::Node tmpl) {
    hotplug::remove_named(tmpl["domain"]["devices"], "disks", disk);
    hotplug::remove_named(tmpl, "volumes", disk);
  };
  plan.leftover = "its block nodes stay";
  co_return co_await detach_planned(*scope, std::move(plan), persist);
}

}  // namespace qmd::daemon
