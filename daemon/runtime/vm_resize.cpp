// Online disk resize: a running VM's disk grows (QMP block_resize on its format node: a raw
// image file is extended, a qcow2 image's virtual size raised) and the guest sees the new
// capacity at once (virtio-blk and SCSI report a capacity change). Only growth: shrinking
// would cut off what the guest wrote. `persist` writes the size into the definition where
// qmd creates the image (hostDisk DiskOrCreate, emptyDisk `capacity`); any other image file
// keeps its new size by itself.
#include <fmt/format.h>

#include <algorithm>
#include <boost/json.hpp>

#include "daemon/runtime/vm_hotplug_core.hpp"
#include "policy/host_units.hpp"

namespace qmd::daemon {

using hotplug::bad_request;

namespace {

// The virtual size of `node`, or why not.
asio::awaitable<std::expected<std::uint64_t, OpError>> node_size(qmp::QmpClient& qmp,
                                                               std::string vm,
                                                               std::string node) {
  boost::json::object args{{"flat", true}};
  auto nodes = co_await qmp.execute("query-named-block-nodes", std::move(args));
  if (!nodes) {
    co_return std::unexpected(hotplug::qmp_failure(vm, "query-named-block-nodes", nodes.error()));
  }
  if (const auto* list = nodes->if_array()) {
    for (const auto& entry : *list) {
      const auto* object = entry.if_object();
      const auto* name = object ? object->if_contains("node-name") : nullptr;
      if (name == nullptr || !name->is_string() || name->as_string() != node) {
        continue;
      }
      const auto* image = object->if_contains("image");
      const auto* size = image && image->is_object()
                             ? image->as_object().if_contains("virtual-size")
                             : nullptr;
      if (size != nullptr && size->is_int64() && size->as_int64() > 0) {
        co_return static_cast<std::uint64_t>(size->as_int64());
      }
    }
  }
  co_return std::unexpected(hotplug::conflict(
      fmt::format("VM {} has no block node {} in QEMU (is the disk attached?)", vm, node)));
}

// The capacity edit for a volume qmd creates; nullopt for any other.
std::optional<hotplug::DefinitionEdit> capacity_edit(const policy::Volume& volume,
                                                     std::uint64_t bytes) {
  std::string key;
  if (volume.kind == policy::VolumeKind::empty_disk) {
    key = "emptyDisk";
  } else if (volume.kind == policy::VolumeKind::host_disk &&
             volume.host_disk_type == "DiskOrCreate") {
    key = "hostDisk";
  } else {
    return std::nullopt;
  }
  const std::string size = policy::format_binary_quantity(bytes);
  return [name = volume.name, key, size](YAML::Node tmpl) {
    for (auto v : tmpl["volumes"]) {
      if (v["name"] && v["name"].as<std::string>() == name && v[key]) {
        v[key]["capacity"] = size;
      }
    }
  };
}

}  // namespace

asio::awaitable<OpResult> Vm::resize_disk(std::string disk, std::uint64_t bytes, bool persist) {
  if (auto movable = check_migration(VmAction::hotplug, "resize-disk"); !movable) {
    co_return movable;
  }
  auto guard = co_await lock_.lock();
  auto scope = hotplug_scope("resize-disk");
  if (!scope) {
    co_return std::unexpected(scope.error());
  }
  const policy::DiskDevice* found = hotplug::definition_disk(scope->spec, disk);
  if (found == nullptr) {
    co_return std::unexpected(op_error(OpError::Code::not_found,
                                       fmt::format("VM {} has no disk named {} in its "
                                                   "definition",
                                                   name_, disk)));
  }
  if (found->kind == policy::DiskKind::cdrom || found->readonly.value_or(false)) {
    co_return std::unexpected(bad_request(
        fmt::format("disk {} of VM {} is read-only (a cdrom or readonly: true): it cannot grow",
                    disk, name_)));
  }
  if (bytes == 0 || bytes % 512 != 0) {
    co_return std::unexpected(bad_request(fmt::format(
        "size {} is not a whole number of 512-byte sectors", bytes)));
  }
  std::optional<std::string> new_text;
  if (persist) {
    const auto volume = std::find_if(scope->spec.volumes.begin(), scope->spec.volumes.end(),
                                     [&](const policy::Volume& v) { return v.name == disk; });
    auto edit = volume == scope->spec.volumes.end() ? std::nullopt : capacity_edit(*volume, bytes);
    if (!edit) {
      co_return std::unexpected(bad_request(fmt::format(
          "disk {} of VM {} has no capacity in its definition to persist (only hostDisk "
          "DiskOrCreate and emptyDisk have one); its image keeps the new size without "
          "--persist",
          disk, name_)));
    }
    auto edited = hotplug::checked_edit(spec_text_, *edit, definition_check());
    if (!edited) {
      co_return std::unexpected(edited.error());
    }
    new_text = std::move(*edited);
  }
  qmp::QmpClient& qmp = *scope->run->qmp;
  const std::string node = devices::format_node(disk);
  auto now = co_await node_size(qmp, name_, node);
  if (!now) {
    co_return std::unexpected(now.error());
  }
  if (bytes <= *now) {
    co_return std::unexpected(bad_request(fmt::format(
        "disk {} of VM {} is {} now; it can only grow (shrinking would cut off the guest's "
        "data), so give a size above that",
        disk, name_, policy::format_binary_quantity(*now))));
  }
  boost::json::object args{{"node-name", node}, {"size", static_cast<std::int64_t>(bytes)}};
  auto resized = co_await qmp.execute("block_resize", std::move(args));
  if (!resized) {
    co_return std::unexpected(hotplug::qmp_failure(name_, "block_resize", resized.error()));
  }
  publish("DiskResized", fmt::format("disk {}: {} -> {}", disk,
                                     policy::format_binary_quantity(*now),
                                     policy::format_binary_quantity(bytes)));
  if (new_text) {
    if (auto saved = save_definition(std::move(*new_text)); !saved) {
      co_return saved;
    }
  }
  co_return OpResult{};
}

}  // namespace qmd::daemon
