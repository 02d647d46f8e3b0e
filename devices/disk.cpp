#include "devices/disk.hpp"

#include "devices/naming.hpp"

namespace qmd::devices {

namespace {

// cache=none is O_DIRECT; writethrough and writeback both go through the host page cache
// (writethrough turns the guest-visible write cache off on the device instead). aio=native
// needs O_DIRECT, so io: native without a cache mode means cache none.
std::optional<boost::json::object> cache_json(const std::optional<std::string>& cache,
                                              const std::optional<std::string>& io) {
  const bool native = io == "native";
  if (!cache && !native) {
    return std::nullopt;
  }
  boost::json::object c;
  c["direct"] = cache.value_or("none") == "none";
  c["no-flush"] = false;
  return c;
}

std::string device_driver(const DiskParams& p) {
  if (p.bus == "virtio") {
    return p.transitional ? "virtio-blk-pci-transitional" : "virtio-blk-pci";
  }
  if (p.bus == "sata") {
    return p.cdrom ? "ide-cd" : "ide-hd";
  }
  if (p.bus == "scsi") {
    // A lun disk is rendered as scsi-hd too: scsi-block would need a host SCSI device.
    return p.cdrom ? "scsi-cd" : "scsi-hd";
  }
  return "usb-storage";
}

Props device_props(const DiskParams& p) {
  Props props{{"id", disk_id(p.name)}};
  if (p.bus == "virtio" && p.pci) {
    props.push_back({"bus", p.pci->bus});
    props.push_back({"addr", p.pci->addr});
  } else {
    props.push_back({"bus", p.controller_bus});
  }
  if (p.bus == "scsi") {
    props.push_back({"channel", std::int64_t{0}});
    props.push_back({"scsi-id", std::int64_t{0}});
    props.push_back({"lun", std::int64_t{p.unit}});
  }
  if (!p.empty) {
    props.push_back({"drive", format_node(p.name)});
  }
  if (p.bus == "virtio") {
    if (p.iothread) {
      props.push_back({"iothread", *p.iothread});
    }
    if (p.queues) {
      props.push_back({"num-queues", std::int64_t{*p.queues}});
    }
  }
  if (p.cache == "writethrough") {
    props.push_back({"write-cache", false});
  }
  if (p.serial) {
    props.push_back({"serial", *p.serial});
  }
  if (p.rotation_rate && !p.cdrom && (p.bus == "scsi" || p.bus == "sata")) {
    props.push_back({"rotation_rate", std::int64_t{*p.rotation_rate}});
  }
  if (p.boot_order) {
    props.push_back({"bootindex", std::int64_t{*p.boot_order}});
  }
  return props;
}

QmpCall blockdev_del(const std::string& node) {
  boost::json::object args;
  args["node-name"] = node;
  return {"blockdev-del", std::move(args)};
}

// The base under an overlay: read-only, and a qcow2 base opens no backing file of its own.
std::vector<boost::json::object> backing_nodes(const BackingImage& b, const std::string& name,
                                               const std::optional<boost::json::object>& cache) {
  boost::json::object file;
  file["driver"] = b.host_device ? "host_device" : "file";
  file["filename"] = b.path;
  file["node-name"] = file_node(name);
  if (cache) {
    file["cache"] = *cache;
  }
  file["read-only"] = true;
  file["auto-read-only"] = true;
  boost::json::object format;
  format["driver"] = b.format;
  format["file"] = file_node(name);
  format["node-name"] = format_node(name);
  format["read-only"] = true;
  if (b.format == "qcow2") {
    format["backing"] = nullptr;
  }
  return {std::move(file), std::move(format)};
}

}  // namespace

DiskParts disk_parts(const DiskParams& p) {
  if (p.empty) {
    return {{}, {}, {}, {device_driver(p), device_props(p)}};
  }
  const auto cache = cache_json(p.cache, p.io);

  boost::json::object file;
  file["driver"] = p.host_device ? "host_device" : "file";
  file["filename"] = p.path;
  file["node-name"] = file_node(p.name);
  if (cache) {
    file["cache"] = *cache;
  }
  if (p.io) {
    file["aio"] = *p.io;
  }
  file["read-only"] = p.readonly;
  file["auto-read-only"] = true;
  file["discard"] = "unmap";

  boost::json::object format;
  format["driver"] = p.format;
  format["file"] = file_node(p.name);
  format["node-name"] = format_node(p.name);
  if (cache) {
    format["cache"] = *cache;
  }
  format["read-only"] = p.readonly;
  format["discard"] = "unmap";

  std::vector<boost::json::object> base;
  if (p.backing) {
    base = backing_nodes(*p.backing, backing_name(p.name), cache);
    format["backing"] = format_node(backing_name(p.name));
  } else if (p.format == "qcow2") {
    format["backing"] = nullptr;  // a header's backing file is a path no root check saw
  }
  return {std::move(base), std::move(file), std::move(format),
          {device_driver(p), device_props(p)}};
}

std::vector<Option> disk_options(const DiskParts& parts) {
  if (parts.file_node.empty()) {
    return {device_option(parts.device)};  // an empty drive: a medium comes at run time
  }
  std::vector<Option> out;
  for (const auto& node : parts.backing_nodes) {
    out.push_back(json_option("-blockdev", node));
  }
  out.push_back(json_option("-blockdev", parts.file_node));
  out.push_back(json_option("-blockdev", parts.format_node));
  out.push_back(device_option(parts.device));
  return out;
}

std::vector<QmpCall> disk_hotplug(const DiskParts& parts) {
  std::vector<QmpCall> out;
  for (const auto& node : parts.backing_nodes) {
    out.push_back({"blockdev-add", node});
  }
  out.push_back({"blockdev-add", parts.file_node});
  out.push_back({"blockdev-add", parts.format_node});
  out.push_back(device_add(parts.device));
  return out;
}

QmpCall disk_unplug(const DiskParts& parts) { return device_del(parts.device.id()); }

std::vector<QmpCall> disk_release(const DiskParts& parts) {
  std::vector<QmpCall> out{
      blockdev_del(std::string(parts.format_node.at("node-name").get_string())),
      blockdev_del(std::string(parts.file_node.at("node-name").get_string()))};
  for (auto node = parts.backing_nodes.rbegin(); node != parts.backing_nodes.rend(); ++node) {
    out.push_back(blockdev_del(std::string(node->at("node-name").get_string())));
  }
  return out;
}

}  // namespace qmd::devices
