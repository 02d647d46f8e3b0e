#include "daemon/api/operation_json.hpp"

#include <utility>

namespace qmd::daemon::api {

namespace json = boost::json;

namespace {

template <typename Number>
void put(json::object& out, std::string_view key, const std::optional<Number>& value) {
  if (value) {
    out[key] = *value;
  }
}

json::object progress_json(const OperationProgress& progress) {
  if (const auto* migration = std::get_if<MigrationProgress>(&progress)) {
    return to_json(*migration);
  }
  return {};
}

}  // namespace

json::object to_json(const MigrationProgress& p) {
  json::object out;
  out["destination"] = p.destination;
  put(out, "storageBytesDone", p.storage_bytes_done);
  put(out, "storageBytesTotal", p.storage_bytes_total);
  if (p.status) {
    out["status"] = *p.status;
  }
  for (const auto& [key, value] :
       {std::pair{"bytesSent", &p.bytes_sent}, std::pair{"bytesRemaining", &p.bytes_remaining},
        std::pair{"bytesTotal", &p.bytes_total}, std::pair{"dirtyPagesRate", &p.dirty_pages_rate},
        std::pair{"passes", &p.passes}, std::pair{"expectedDowntimeMs", &p.expected_downtime_ms},
        std::pair{"downtimeMs", &p.downtime_ms}, std::pair{"totalTimeMs", &p.total_time_ms},
        std::pair{"setupTimeMs", &p.setup_time_ms}}) {
    put(out, key, *value);
  }
  put(out, "downtimeLimitMs", p.downtime_limit_ms);
  put(out, "elapsedMs", p.elapsed_ms);
  put(out, "pausedMs", p.paused_ms);
  return out;
}

json::object to_json(const Operation& op) {
  json::object out;
  out["id"] = op.id;
  out["kind"] = op.kind;
  out["vm"] = op.vm;
  out["status"] = op.status;
  out["phase"] = op.phase;
  if (!op.error.empty()) {
    out["error"] = op.error;
  }
  out["progress"] = progress_json(op.progress);
  out["createdAt"] = op.created_at;
  if (!op.finished_at.empty()) {
    out["finishedAt"] = op.finished_at;
  }
  return out;
}

}  // namespace qmd::daemon::api
