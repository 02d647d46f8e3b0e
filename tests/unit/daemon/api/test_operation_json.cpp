// GET /v1/operations/{id} from the runtime's Operation: its progress figures appear once
// known, in a fixed order, and an operation without figures shows an empty progress.
#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>
#include <boost/json/serialize.hpp>

#include "daemon/api/operation_json.hpp"

namespace json = boost::json;
using namespace qmd::daemon;

TEST_CASE("a migration that has just begun shows its destination only") {
  CHECK(json::serialize(api::to_json(MigrationProgress{.destination = "host-b"})) ==
        R"({"destination":"host-b"})");
}

TEST_CASE("a finished migration shows every figure in its place") {
  const MigrationProgress p{.destination = "host-b",
                            .storage_bytes_done = 1024,
                            .storage_bytes_total = 2048,
                            .status = "completed",
                            .bytes_sent = 300,
                            .bytes_remaining = 0,
                            .bytes_total = 300,
                            .dirty_pages_rate = 12,
                            .passes = 2,
                            .expected_downtime_ms = 30,
                            .downtime_ms = 25,
                            .total_time_ms = 900,
                            .setup_time_ms = 5,
                            .downtime_limit_ms = 300,
                            .elapsed_ms = 950,
                            .paused_ms = 40};
  CHECK(json::serialize(api::to_json(p)) ==
        R"({"destination":"host-b","storageBytesDone":1024,"storageBytesTotal":2048,)"
        R"("status":"completed","bytesSent":300,"bytesRemaining":0,"bytesTotal":300,)"
        R"("dirtyPagesRate":12,"passes":2,"expectedDowntimeMs":30,"downtimeMs":25,)"
        R"("totalTimeMs":900,"setupTimeMs":5,"downtimeLimitMs":300,"elapsedMs":950,)"
        R"("pausedMs":40})");
}

TEST_CASE("an operation shows error and finishedAt only once it ended") {
  boost::asio::io_context io;
  Operation op(io.get_executor());
  op.id = "migrate-123-1";
  op.kind = "migrate";
  op.vm = "web1";
  op.phase = "transferring";
  op.created_at = "2026-12-01T03:40:00.000Z";
  op.progress = MigrationProgress{.destination = "host-b", .status = "active"};
  CHECK(json::serialize(api::to_json(op)) ==
        R"({"id":"migrate-123-1","kind":"migrate","vm":"web1","status":"running",)"
        R"("phase":"transferring","progress":{"destination":"host-b","status":"active"},)"
        R"("createdAt":"2026-12-01T03:40:00.000Z"})");
  op.status = "failed";
  op.error = "the destination went away";
  op.finished_at = "2026-12-01T03:41:00.000Z";
  op.progress = std::monostate{};
  CHECK(json::serialize(api::to_json(op)) ==
        R"({"id":"migrate-123-1","kind":"migrate","vm":"web1","status":"failed",)"
        R"("phase":"transferring","error":"the destination went away","progress":{},)"
        R"("createdAt":"2026-12-01T03:40:00.000Z","finishedAt":"2026-12-01T03:41:00.000Z"})");
}
