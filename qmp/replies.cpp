#include "qmp/replies.hpp"

#include "qmp/guest_text.hpp"
#include "qmp/json_fields.hpp"

#include <fmt/format.h>

#include <boost/json/serialize.hpp>

namespace qmd::qmp {
namespace {

namespace json = boost::json;

QmpError unexpected_shape(std::string_view command, const json::value& reply) {
  return QmpError{QmpError::Kind::protocol, "",
                  fmt::format("unexpected {} reply: {}", command, json_excerpt(reply))};
}

std::string string_or_empty(const json::object& o, std::string_view key) {
  const auto* s = string_at(o, key);
  return s != nullptr ? std::string(*s) : std::string();
}

const json::object* object_at(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr ? v->if_object() : nullptr;
}

// A member that may be absent but, when present, must have the right type.
bool wrong_type(const json::object& o, std::string_view key, json::kind kind) {
  const auto* v = o.if_contains(key);
  if (v == nullptr) {
    return false;
  }
  if (kind == json::kind::int64) {
    return !v->is_int64() && !v->is_uint64();
  }
  return v->kind() != kind;
}

}  // namespace

std::expected<RunStatus, QmpError> parse_status(const json::value& reply) {
  const auto* o = reply.if_object();
  const auto* status = o != nullptr ? string_at(*o, "status") : nullptr;
  if (status == nullptr) {
    return std::unexpected(unexpected_shape("query-status", reply));
  }
  return RunStatus{std::string(*status), bool_at(*o, "running")};
}

std::expected<std::vector<CpuInfo>, QmpError> parse_cpus_fast(const json::value& reply) {
  const auto* list = reply.if_array();
  if (list == nullptr) {
    return std::unexpected(unexpected_shape("query-cpus-fast", reply));
  }
  std::vector<CpuInfo> cpus;
  for (const auto& item : *list) {
    const auto* o = item.if_object();
    const auto index = o != nullptr ? int_at(*o, "cpu-index") : std::nullopt;
    const auto thread = o != nullptr ? int_at(*o, "thread-id") : std::nullopt;
    if (!index || !thread) {
      return std::unexpected(unexpected_shape("query-cpus-fast", reply));
    }
    CpuInfo cpu{*index, *thread, {}, {}, {}, {}, {}};
    if (const auto* path = string_at(*o, "qom-path")) {
      cpu.qom_path = std::string(*path);
    }
    if (const auto* target = string_at(*o, "target")) {
      cpu.target = std::string(*target);
    }
    if (const auto* props = o->if_contains("props"); props != nullptr && props->is_object()) {
      cpu.socket_id = int_at(props->as_object(), "socket-id");
      cpu.core_id = int_at(props->as_object(), "core-id");
      cpu.thread_in_core = int_at(props->as_object(), "thread-id");
    }
    cpus.push_back(std::move(cpu));
  }
  return cpus;
}

std::expected<std::vector<BlockDevice>, QmpError> parse_block(const json::value& reply) {
  const auto* list = reply.if_array();
  if (list == nullptr) {
    return std::unexpected(unexpected_shape("query-block", reply));
  }
  std::vector<BlockDevice> devices;
  for (const auto& item : *list) {
    const auto* o = item.if_object();
    const auto* device = o != nullptr ? string_at(*o, "device") : nullptr;
    if (device == nullptr) {
      return std::unexpected(unexpected_shape("query-block", reply));
    }
    BlockDevice dev;
    dev.device = std::string(*device);
    if (const auto* qdev = string_at(*o, "qdev")) {
      dev.qdev = std::string(*qdev);
    }
    dev.removable = bool_at(*o, "removable");
    dev.locked = bool_at(*o, "locked");
    if (const auto* ins = o->if_contains("inserted"); ins != nullptr && ins->is_object()) {
      const auto& m = ins->as_object();
      BlockMedium medium;
      if (const auto* s = string_at(m, "node-name")) {
        medium.node_name = std::string(*s);
      }
      if (const auto* s = string_at(m, "file")) {
        medium.file = std::string(*s);
      }
      if (const auto* s = string_at(m, "drv")) {
        medium.driver = std::string(*s);
      }
      medium.read_only = bool_at(m, "ro");
      dev.inserted = std::move(medium);
    }
    devices.push_back(std::move(dev));
  }
  return devices;
}

std::expected<std::vector<HotpluggableCpu>, QmpError> parse_hotpluggable_cpus(
    const json::value& reply) {
  const auto* list = reply.if_array();
  if (list == nullptr) {
    return std::unexpected(unexpected_shape("query-hotpluggable-cpus", reply));
  }
  std::vector<HotpluggableCpu> cpus;
  for (const auto& item : *list) {
    const auto* o = item.if_object();
    const auto* type = o != nullptr ? string_at(*o, "type") : nullptr;
    const auto count = o != nullptr ? int_at(*o, "vcpus-count") : std::nullopt;
    const auto* props = o != nullptr ? object_at(*o, "props") : nullptr;
    if (type == nullptr || !count || props == nullptr ||
        wrong_type(*o, "qom-path", json::kind::string)) {
      return std::unexpected(unexpected_shape("query-hotpluggable-cpus", reply));
    }
    HotpluggableCpu cpu;
    cpu.type = std::string(*type);
    cpu.vcpus_count = *count;
    if (const auto* path = string_at(*o, "qom-path")) {
      cpu.qom_path = std::string(*path);
    }
    cpu.socket_id = int_at(*props, "socket-id");
    cpu.core_id = int_at(*props, "core-id");
    cpu.thread_id = int_at(*props, "thread-id");
    cpu.node_id = int_at(*props, "node-id");
    cpus.push_back(std::move(cpu));
  }
  return cpus;
}

std::expected<std::vector<BlockStats>, QmpError> parse_blockstats(const json::value& reply) {
  const auto* list = reply.if_array();
  if (list == nullptr) {
    return std::unexpected(unexpected_shape("query-blockstats", reply));
  }
  std::vector<BlockStats> all;
  for (const auto& item : *list) {
    const auto* o = item.if_object();
    const auto* stats = o != nullptr ? object_at(*o, "stats") : nullptr;
    if (stats == nullptr) {
      return std::unexpected(unexpected_shape("query-blockstats", reply));
    }
    const auto rd_bytes = int_at(*stats, "rd_bytes");
    const auto wr_bytes = int_at(*stats, "wr_bytes");
    const auto rd_ops = int_at(*stats, "rd_operations");
    const auto wr_ops = int_at(*stats, "wr_operations");
    const auto flush_ops = int_at(*stats, "flush_operations");
    if (!rd_bytes || !wr_bytes || !rd_ops || !wr_ops || !flush_ops) {
      return std::unexpected(unexpected_shape("query-blockstats", reply));
    }
    all.push_back(BlockStats{string_or_empty(*o, "device"), string_or_empty(*o, "node-name"),
                             string_or_empty(*o, "qdev"), *rd_bytes, *wr_bytes, *rd_ops, *wr_ops,
                             *flush_ops});
  }
  return all;
}

std::expected<std::int64_t, QmpError> parse_balloon(const json::value& reply) {
  const auto* o = reply.if_object();
  const auto actual = o != nullptr ? int_at(*o, "actual") : std::nullopt;
  if (!actual) {
    return std::unexpected(unexpected_shape("query-balloon", reply));
  }
  return *actual;
}

std::expected<FdsetAdded, QmpError> parse_add_fd(const json::value& reply) {
  const auto* o = reply.if_object();
  const auto set = o != nullptr ? int_at(*o, "fdset-id") : std::nullopt;
  const auto fd = o != nullptr ? int_at(*o, "fd") : std::nullopt;
  if (!set || !fd) {
    return std::unexpected(unexpected_shape("add-fd", reply));
  }
  return FdsetAdded{*set, *fd};
}

std::expected<MigrationInfo, QmpError> parse_migrate(const json::value& reply) {
  const auto* o = reply.if_object();
  if (o == nullptr || wrong_type(*o, "status", json::kind::string) ||
      wrong_type(*o, "ram", json::kind::object) ||
      wrong_type(*o, "error-desc", json::kind::string)) {
    return std::unexpected(unexpected_shape("query-migrate", reply));
  }
  for (const auto* key : {"expected-downtime", "downtime", "total-time", "setup-time"}) {
    if (wrong_type(*o, key, json::kind::int64)) {
      return std::unexpected(unexpected_shape("query-migrate", reply));
    }
  }
  MigrationInfo info;
  info.status = string_or_empty(*o, "status");
  info.error_desc = string_or_empty(*o, "error-desc");
  info.expected_downtime = int_at(*o, "expected-downtime");
  info.downtime = int_at(*o, "downtime");
  info.total_time = int_at(*o, "total-time");
  info.setup_time = int_at(*o, "setup-time");
  if (const auto* ram = object_at(*o, "ram")) {
    const auto transferred = int_at(*ram, "transferred");
    const auto remaining = int_at(*ram, "remaining");
    const auto total = int_at(*ram, "total");
    const auto rate = int_at(*ram, "dirty-pages-rate");
    const auto passes = int_at(*ram, "dirty-sync-count");
    if (!transferred || !remaining || !total || !rate || !passes) {
      return std::unexpected(unexpected_shape("query-migrate", reply));
    }
    info.ram = MigrationRam{*transferred, *remaining, *total, *rate, *passes};
  }
  return info;
}

std::expected<std::vector<MigrationCapability>, QmpError> parse_migrate_capabilities(
    const json::value& reply) {
  const auto* list = reply.if_array();
  if (list == nullptr) {
    return std::unexpected(unexpected_shape("query-migrate-capabilities", reply));
  }
  std::vector<MigrationCapability> capabilities;
  for (const auto& item : *list) {
    const auto* o = item.if_object();
    const auto* name = o != nullptr ? string_at(*o, "capability") : nullptr;
    const auto* state = o != nullptr ? o->if_contains("state") : nullptr;
    if (name == nullptr || state == nullptr || !state->is_bool()) {
      return std::unexpected(unexpected_shape("query-migrate-capabilities", reply));
    }
    capabilities.emplace_back(std::string(*name), state->get_bool());
  }
  return capabilities;
}

}  // namespace qmd::qmp
