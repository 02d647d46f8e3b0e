#include "qmp/replies.hpp"

#include "qmp/json_fields.hpp"

#include <fmt/format.h>

#include <boost/json/serialize.hpp>

namespace qmd::qmp {
namespace {

namespace json = boost::json;

QmpError unexpected_shape(std::string_view command, const json::value& reply) {
  return QmpError{QmpError::Kind::protocol, "",
                  fmt::format("unexpected {} reply: {}", command, json::serialize(reply))};
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

}  // namespace qmd::qmp
