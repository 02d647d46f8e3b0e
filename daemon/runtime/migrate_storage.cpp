#include "daemon/runtime/migrate_storage.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>
#include <yaml-cpp/yaml.h>

#include <algorithm>

#include "daemon/runtime/vm_hotplug_core.hpp"
#include "daemon/storage/vm_files.hpp"
#include "devices/naming.hpp"

namespace qmd::daemon::storage {

namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

std::string mirror_job(const CopyDisk& disk) { return "mirror-" + disk.name; }
std::string nbd_node(const CopyDisk& disk) { return "nbd-" + disk.name; }

// The flat QMP SocketAddress (blockdev-add's nbd server).
json::object socket_address(const migration::NbdAddress& where) {
  if (where.kind == migration::NbdAddress::Kind::unix_socket) {
    return {{"type", "unix"}, {"path", where.path}};
  }
  return {{"type", "inet"}, {"host", where.host}, {"port", where.port}};
}

const json::value* find(const json::value& v, std::string_view key) {
  return v.is_object() ? v.as_object().if_contains(key) : nullptr;
}

std::string text(const json::value* v) {
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

// Waits up to `limit` for every block job to be gone, then drops the NBD client nodes;
// false when jobs were still there.
asio::awaitable<bool> end_mirrors(qmp::QmpClient& qmp, const std::vector<CopyDisk>& disks,
                                  std::chrono::milliseconds limit) {
  bool gone = false;
  for (auto waited = 0ms; !gone && waited < limit; waited += 100ms) {
    auto jobs = co_await qmp.execute("query-block-jobs");
    gone = !jobs || !jobs->is_array() || jobs->as_array().empty();
    if (!gone) {
      asio::steady_timer pause(co_await asio::this_coro::executor, 100ms);
      co_await pause.async_wait(asio::use_awaitable);
    }
  }
  for (const auto& disk : disks) {
    json::object node;
    node["node-name"] = nbd_node(disk);
    (void)co_await qmp.execute("blockdev-del", node);
  }
  co_return gone;
}

}  // namespace

asio::awaitable<std::expected<std::vector<CopyDisk>, std::string>> local_disks(
    qmp::QmpClient& qmp, const policy::VmSpec& spec,
    const std::map<std::string, std::string>& paths) {
  std::vector<CopyDisk> out;
  json::object args;
  args["flat"] = true;
  auto nodes = co_await qmp.execute("query-named-block-nodes", args);
  if (!nodes || !nodes->is_array()) {
    co_return std::unexpected(fmt::format("query-named-block-nodes: {}",
                                          nodes ? std::string("not a list")
                                                : nodes.error().to_string()));
  }
  for (const auto& volume : spec.volumes) {
    if (volume.kind != policy::VolumeKind::host_disk && volume.kind != policy::VolumeKind::file) {
      continue;  // generated (cloud-init) or not a local file
    }
    const bool attached = std::ranges::any_of(
        spec.domain.devices.disks, [&](const auto& disk) { return disk.name == volume.name; });
    if (!attached) {
      continue;
    }
    CopyDisk disk;
    disk.name = volume.name;
    const auto mapped = paths.find(volume.path);
    disk.path = mapped == paths.end() ? volume.path : mapped->second;
    const std::string node = devices::format_node(volume.name);
    for (const auto& entry : nodes->as_array()) {
      if (text(find(entry, "node-name")) != node) {
        continue;
      }
      disk.format = text(find(entry, "drv"));
      if (const auto* image = find(entry, "image")) {
        if (const auto* size = find(*image, "virtual-size"); size && size->is_int64()) {
          disk.size = static_cast<std::uint64_t>(size->as_int64());
        }
      }
    }
    if (disk.format.empty() || disk.size == 0) {
      co_return std::unexpected(fmt::format("disk {}: QEMU has no block node {}", volume.name,
                                            node));
    }
    out.push_back(std::move(disk));
  }
  co_return out;
}

std::expected<std::string, OpError> rename_paths(const std::string& text,
                                                 const std::map<std::string, std::string>& paths) {
  if (paths.empty()) {
    return text;
  }
  return hotplug::edit_definition(text, [&paths](YAML::Node spec) {
    for (auto volume : spec["volumes"]) {
      for (const char* kind : {"hostDisk", "file"}) {
        auto source = volume[kind];
        if (source && source["path"]) {
          const auto mapped = paths.find(source["path"].as<std::string>());
          if (mapped != paths.end()) {
            source["path"] = mapped->second;
          }
        }
      }
    }
  });
}

namespace {

// An image the user made beforehand, beneath a root: the mirror overwrites it.
std::expected<void, std::string> check_existing(const CopyDisk& disk,
                                                std::span<const std::string> roots) {
  auto fd = open_beneath(roots, disk.path, O_RDONLY | O_NONBLOCK);
  if (!fd) {
    return std::unexpected(fmt::format("disk {}: {}", disk.name, fd.error().message));
  }
  struct stat st {};
  if (::fstat(fd->get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return std::unexpected(fmt::format("disk {}: {} is not a regular file", disk.name,
                                       disk.path));
  }
  if (disk.format == "raw" && static_cast<std::uint64_t>(st.st_size) != disk.size) {
    return std::unexpected(fmt::format(
        "disk {}: {} exists with {} bytes, the source's has {}; remove it or map the disk "
        "to another path",
        disk.name, disk.path, st.st_size, disk.size));
  }
  return {};
}

// A new image through the descriptor that made it (O_CREAT|O_EXCL beneath a root).
std::expected<MadeFile, std::string> create_one(const CopyDisk& disk, UniqueFd fd,
                                                std::optional<std::pair<uid_t, gid_t>> owner) {
  struct stat st {};
  ::fstat(fd.get(), &st);
  MadeFile made{disk.path, st.st_dev, st.st_ino};
  const std::string log = fmt::format("/tmp/qmd-qemu-img-{}.log", ::getpid());
  auto formatted = storage::format_image(fd.get(), disk.format, disk.size, "qemu-img", log, 60s);
  ::unlink(log.c_str());
  if (formatted && owner && ::fchown(fd.get(), owner->first, owner->second) != 0) {
    formatted = std::unexpected(fmt::format("hand it to the QEMU user: {}", std::strerror(errno)));
  }
  if (!formatted) {
    return std::unexpected(
        fmt::format("disk {}: create {}: {}", disk.name, disk.path, formatted.error()));
  }
  return made;
}

}  // namespace

std::expected<std::vector<MadeFile>, std::string> create_images(
    const std::vector<CopyDisk>& disks, std::span<const std::string> roots,
    std::optional<std::pair<uid_t, gid_t>> owner) {
  std::vector<MadeFile> made;
  auto undo = [&made, roots](std::string error) {
    remove_made_files(roots, made);
    return std::unexpected(std::move(error));
  };
  for (const auto& disk : disks) {
    auto fd = open_beneath(roots, disk.path, O_RDWR | O_CREAT | O_EXCL, 0600);
    if (!fd && fd.error().why == PathRefusal::Why::exists) {
      if (auto kept = check_existing(disk, roots); !kept) {
        return undo(kept.error());
      }
      continue;
    }
    if (!fd) {
      return undo(fmt::format("disk {}: {}", disk.name, fd.error().message));
    }
    auto one = create_one(disk, std::move(*fd), owner);
    if (!one) {
      return undo(one.error());
    }
    made.push_back(std::move(*one));
  }
  return made;
}

std::optional<std::string> refuse_paths(const std::vector<CopyDisk>& disks,
                                        std::span<const std::string> roots) {
  for (const auto& disk : disks) {
    auto fd = open_beneath(roots, disk.path, O_PATH);
    if (!fd && fd.error().why != PathRefusal::Why::missing) {
      return fmt::format("disk {}: {}", disk.name, fd.error().message);
    }
  }
  return std::nullopt;
}

void remove_made_files(std::span<const std::string> roots, const std::vector<MadeFile>& made) {
  for (const auto& file : made) {
    remove_made_file(roots, file);
  }
}

asio::awaitable<std::expected<void, std::string>> export_disks(qmp::QmpClient& qmp,
                                                               const std::vector<CopyDisk>& disks,
                                                               migration::NbdAddress where,
                                                               std::string tls_creds) {
  // nbd-server-start still takes the legacy form {"type", "data": {...}}; blockdev-add on the
  // source takes the flat one, which is what travels.
  json::object address = socket_address(where);
  json::object legacy;
  legacy["type"] = address["type"];
  address.erase("type");
  legacy["data"] = std::move(address);
  json::object start;
  start["addr"] = std::move(legacy);
  if (!tls_creds.empty()) {
    start["tls-creds"] = tls_creds;  // verify-peer: only a client of the same CA connects
  }
  if (auto started = co_await qmp.execute("nbd-server-start", start); !started) {
    co_return std::unexpected("nbd-server-start: " + started.error().to_string());
  }
  for (const auto& disk : disks) {
    json::object exported;
    exported["type"] = "nbd";
    exported["id"] = "export-" + disk.name;
    exported["node-name"] = devices::format_node(disk.name);
    exported["name"] = disk.name;
    exported["writable"] = true;
    if (auto added = co_await qmp.execute("block-export-add", exported); !added) {
      co_return std::unexpected(fmt::format("block-export-add {}: {}", disk.name,
                                            added.error().to_string()));
    }
  }
  co_return std::expected<void, std::string>{};
}

asio::awaitable<void> stop_exports(qmp::QmpClient& qmp) {
  (void)co_await qmp.execute("nbd-server-stop");
}

asio::awaitable<std::expected<void, std::string>> start_mirrors(
    qmp::QmpClient& qmp, const std::vector<CopyDisk>& disks, migration::NbdAddress where,
    std::string tls_creds) {
  json::object server = socket_address(where);
  for (const auto& disk : disks) {
    json::object node;
    node["driver"] = "nbd";
    node["node-name"] = nbd_node(disk);
    node["server"] = server;
    node["export"] = disk.name;
    if (!tls_creds.empty() && server.contains("host")) {
      node["tls-creds"] = tls_creds;
      node["tls-hostname"] = server["host"];  // the server certificate must name it
    }
    if (auto added = co_await qmp.execute("blockdev-add", node); !added) {
      co_return std::unexpected(fmt::format("disk {}: the destination's NBD export: {}",
                                            disk.name, added.error().to_string()));
    }
    json::object mirror;
    mirror["job-id"] = mirror_job(disk);
    mirror["device"] = devices::format_node(disk.name);
    mirror["target"] = nbd_node(disk);
    mirror["sync"] = "full";
    // Write-blocking: once the mirror is ready, a guest write completes only when it is on
    // both sides, so the copy converges however fast the guest writes.
    mirror["copy-mode"] = "write-blocking";
    if (auto started = co_await qmp.execute("blockdev-mirror", mirror); !started) {
      co_return std::unexpected(fmt::format("disk {}: blockdev-mirror: {}", disk.name,
                                            started.error().to_string()));
    }
  }
  co_return std::expected<void, std::string>{};
}

asio::awaitable<MirrorState> mirror_state(qmp::QmpClient& qmp, const std::vector<CopyDisk>& disks) {
  MirrorState state;
  auto jobs = co_await qmp.execute("query-block-jobs");
  if (!jobs || !jobs->is_array()) {
    state.error = "query-block-jobs: " + (jobs ? std::string("not a list") : jobs.error().to_string());
    co_return state;
  }
  state.ready = true;
  for (const auto& disk : disks) {
    const json::value* job = nullptr;
    for (const auto& entry : jobs->as_array()) {
      if (text(find(entry, "device")) == mirror_job(disk)) {
        job = &entry;
      }
    }
    if (job == nullptr) {
      state.error = fmt::format("the mirror of disk {} ended early", disk.name);
      co_return state;
    }
    const auto* offset = find(*job, "offset");
    const auto* len = find(*job, "len");
    state.done += offset && offset->is_int64() ? offset->as_int64() : 0;
    state.total += len && len->is_int64() ? len->as_int64() : 0;
    const auto* ready = find(*job, "ready");
    state.ready = state.ready && ready && ready->is_bool() && ready->as_bool();
  }
  co_return state;
}

asio::awaitable<std::expected<void, std::string>> finish_mirrors(
    qmp::QmpClient& qmp, const std::vector<CopyDisk>& disks) {
  for (const auto& disk : disks) {
    json::object cancel;
    cancel["device"] = mirror_job(disk);
    if (auto done = co_await qmp.execute("block-job-cancel", cancel); !done) {
      co_return std::unexpected(fmt::format("disk {}: completing the mirror: {}", disk.name,
                                            done.error().to_string()));
    }
  }
  // A ready mirror cancelled this way writes out what it still holds, then ends.
  const bool ended = co_await end_mirrors(qmp, disks, 30s);
  if (!ended) {
    co_return std::unexpected(std::string("the disk mirrors did not finish within 30 s"));
  }
  co_return std::expected<void, std::string>{};
}

asio::awaitable<void> abandon_mirrors(qmp::QmpClient& qmp, const std::vector<CopyDisk>& disks) {
  for (const auto& disk : disks) {
    json::object cancel;
    cancel["device"] = mirror_job(disk);
    cancel["force"] = true;
    (void)co_await qmp.execute("block-job-cancel", cancel);
  }
  (void)co_await end_mirrors(qmp, disks, 5s);
}

}  // namespace qmd::daemon::storage
