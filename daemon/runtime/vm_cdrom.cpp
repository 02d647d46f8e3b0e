// CD-ROM media at run time: a new image goes into a cdrom drive (or the drive is emptied)
// while the guest runs, as the eject button and a new disc would. The image is opened by qmd
// beneath a storage root without following links and reaches QEMU as a descriptor (an fd
// set), read-only; QEMU swaps it with its tray commands (forced: a guest's lock on the tray
// does not hold it). `persist` makes the change the definition's volume too.
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "daemon/runtime/disk_fds.hpp"
#include "daemon/config.hpp"
#include "daemon/runtime/vm_hotplug_core.hpp"
#include "devices/cdrom.hpp"

namespace qmd::daemon {

using hotplug::bad_request;
using hotplug::conflict;

namespace {

// The drive's medium now (its format node), from QEMU.
asio::awaitable<std::expected<std::string, OpError>> current_medium(qmp::QmpClient& qmp,
                                                                   std::string vm,
                                                                   std::string disk) {
  auto block = co_await qmp::query_block(qmp);
  if (!block) {
    co_return std::unexpected(hotplug::qmp_failure(vm, "query-block", block.error()));
  }
  const std::string id = devices::disk_id(disk);
  for (const auto& device : *block) {
    if (device.qdev == id || device.qdev.ends_with("/" + id) ||
        device.qdev.find("/" + id + "/") != std::string::npos) {
      co_return device.inserted ? device.inserted->node_name : std::string{};
    }
  }
  co_return std::unexpected(conflict(
      fmt::format("VM {} has no drive {} in QEMU (was it detached?)", vm, id)));
}

hotplug::DefinitionEdit medium_edit(std::string disk, std::optional<std::string> path,
                                    std::string format) {
  return [disk, path, format](YAML::Node tmpl) {
    hotplug::remove_named(tmpl, "volumes", disk);
    if (path) {
      YAML::Node volume;
      volume["name"] = disk;
      volume["file"]["path"] = *path;
      volume["file"]["format"] = format;
      tmpl["volumes"].push_back(volume);
    }
  };
}

}  // namespace

asio::awaitable<OpResult> Vm::change_medium(std::string disk, std::optional<std::string> path,
                                            bool persist) {
  const std::string what = path ? "cdrom --insert" : "cdrom --eject";
  if (auto movable = check_migration(VmAction::hotplug, what); !movable) {
    co_return movable;
  }
  auto guard = co_await lock_.lock();
  auto scope = hotplug_scope(what);
  if (!scope) {
    co_return std::unexpected(scope.error());
  }
  const policy::DiskDevice* found = hotplug::definition_disk(scope->spec, disk);
  if (found == nullptr) {
    co_return std::unexpected(op_error(
        OpError::Code::not_found, fmt::format("VM {} has no disk named {}", name_, disk)));
  }
  if (found->kind != policy::DiskKind::cdrom) {
    co_return std::unexpected(bad_request(fmt::format(
        "disk {} of VM {} is not a cdrom: only a cdrom drive takes a new medium", disk, name_)));
  }
  std::optional<std::string> new_text;
  std::string format = "raw";
  UniqueFd image;
  if (path) {
    auto fds = open_disk_image(*path, true, storage_roots(ctx_.config), "");
    if (!fds) {
      co_return std::unexpected(bad_request(fmt::format("cannot insert: {}", fds.error())));
    }
    image = std::move(fds->front());
    format = hotplug::sniff_format(image.get());
  }
  if (persist) {
    auto edited =
        hotplug::checked_edit(spec_text_, medium_edit(disk, path, format), definition_check());
    if (!edited) {
      co_return std::unexpected(edited.error());
    }
    new_text = std::move(*edited);
  }
  auto swapped = co_await swap_medium(scope->run, disk, std::move(image), format);
  if (!swapped) {
    co_return swapped;
  }
  publish(path ? "MediumInserted" : "MediumEjected",
          path ? fmt::format("cdrom {}: {} ({}) inserted", disk, *path, format)
               : fmt::format("cdrom {}: ejected", disk));
  if (new_text) {
    if (auto saved = save_definition(std::move(*new_text)); !saved) {
      co_return saved;
    }
  }
  co_return OpResult{};
}

asio::awaitable<OpResult> Vm::swap_medium(std::shared_ptr<Run> run, std::string disk,
                                          UniqueFd image, std::string format) {
  qmp::QmpClient& qmp = *run->qmp;
  auto current = co_await current_medium(qmp, name_, disk);
  if (!current) {
    co_return std::unexpected(current.error());
  }
  std::string inserted;
  if (image) {
    auto fdset = co_await qmp::add_fd(qmp, std::move(image), "cdrom " + disk);
    if (!fdset) {
      co_return std::unexpected(hotplug::qmp_failure(name_, "add-fd", fdset.error()));
    }
    const auto nodes = devices::next_medium_nodes(disk, *current);
    const auto adds =
        devices::medium_add(nodes, fmt::format("/dev/fdset/{}", fdset->fdset_id), format);
    std::optional<qmp::QmpError> failure;
    for (std::size_t i = 0; i < adds.size() && !failure; ++i) {
      auto added = co_await hotplug::run_call(qmp, adds[i]);
      if (!added) {
        failure = added.error();
        if (i == 1) {  // the file node is in: take it out again
          auto undo = co_await qmp::blockdev_del(qmp, nodes.file);
          (void)undo;
        }
      }
    }
    auto released = co_await qmp::remove_fd(qmp, fdset->fdset_id);
    (void)released;
    if (failure) {
      co_return std::unexpected(
          hotplug::qmp_failure(name_, "the new medium (blockdev-add)", *failure,
                               OpError::Code::bad_request));
    }
    inserted = nodes.format;
  }
  for (const auto& step : devices::medium_swap(disk, inserted)) {
    auto done = co_await hotplug::run_call(qmp, step);
    if (!done) {
      co_return std::unexpected(hotplug::qmp_failure(name_, step.execute, done.error()));
    }
  }
  if (!current->empty()) {
    for (const auto& step : devices::medium_del(*current)) {
      auto done = co_await hotplug::run_call(qmp, step);
      if (!done) {
        spdlog::warn("VM {}: the old medium of {}: {}: {}", name_, disk, step.execute,
                     done.error().to_string());
      }
    }
  }
  co_return OpResult{};
}

}  // namespace qmd::daemon
