#include <doctest/doctest.h>

#include <boost/json/parse.hpp>

#include "qmp/replies.hpp"

using namespace qmd::qmp;
namespace json = boost::json;

TEST_CASE("empty lists give no CPUs and no block devices") {
  CHECK(parse_cpus_fast(json::array{}) == std::vector<CpuInfo>{});
  CHECK(parse_block(json::array{}) == std::vector<BlockDevice>{});
}

TEST_CASE("query-status") {
  CHECK(parse_status(json::parse(R"({"status": "paused", "singlestep": false, "running": false})"))
            .value() == RunStatus{"paused", false});
  CHECK(parse_status(json::parse(R"({"status": "running", "running": true})")).value() ==
        RunStatus{"running", true});
  auto bad = parse_status(json::parse("[]"));
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().to_string() == "QMP protocol error: unexpected query-status reply: []");
}

TEST_CASE("query-cpus-fast as QEMU 7.2 sends it") {
  const auto reply = json::parse(R"([
    {"thread-id": 4242, "props": {"core-id": 0, "thread-id": 0, "node-id": 0, "socket-id": 0},
     "qom-path": "/machine/unattached/device[0]", "cpu-index": 0, "target": "x86_64"},
    {"thread-id": 4243, "props": {"core-id": 1, "thread-id": 0, "socket-id": 0},
     "qom-path": "/machine/unattached/device[1]", "cpu-index": 1, "target": "x86_64"}])");
  CHECK(parse_cpus_fast(reply).value() ==
        std::vector<CpuInfo>{{0, 4242, "/machine/unattached/device[0]", "x86_64", 0, 0, 0},
                             {1, 4243, "/machine/unattached/device[1]", "x86_64", 0, 1, 0}});
  CHECK_FALSE(parse_cpus_fast(json::parse(R"([{"cpu-index": 0}])")).has_value());
}

TEST_CASE("query-block with a disk and an empty CD-ROM") {
  const auto reply = json::parse(R"([
    {"device": "", "qdev": "disk0", "removable": false, "locked": false,
     "inserted": {"node-name": "disk0-fmt", "file": "/var/lib/qmd/a.qcow2", "drv": "qcow2",
                  "ro": false, "encrypted": false}},
    {"device": "ide2-cd0", "qdev": "/machine/unattached/device[23]", "removable": true,
     "locked": true, "tray_open": false}])");
  CHECK(parse_block(reply).value() ==
        std::vector<BlockDevice>{
            {"", "disk0", false, false,
             BlockMedium{"disk0-fmt", "/var/lib/qmd/a.qcow2", "qcow2", false}},
            {"ide2-cd0", "/machine/unattached/device[23]", true, true, std::nullopt}});
  CHECK_FALSE(parse_block(json::parse(R"({"device": "x"})")).has_value());
  CHECK_FALSE(parse_block(json::parse(R"([{"qdev": "x"}])")).has_value());
}

TEST_CASE("empty lists give no CPU slots, block stats or capabilities") {
  CHECK(parse_hotpluggable_cpus(json::array{}) == std::vector<HotpluggableCpu>{});
  CHECK(parse_blockstats(json::array{}) == std::vector<BlockStats>{});
  CHECK(parse_migrate_capabilities(json::array{}) == std::vector<MigrationCapability>{});
}

TEST_CASE("query-hotpluggable-cpus: one slot plugged, one free (-smp 1,maxcpus=2)") {
  const auto reply = json::parse(R"([
    {"props": {"core-id": 1, "thread-id": 0, "socket-id": 0}, "vcpus-count": 1,
     "type": "qemu64-x86_64-cpu"},
    {"props": {"core-id": 0, "thread-id": 0, "socket-id": 0, "node-id": 0}, "vcpus-count": 1,
     "qom-path": "/machine/unattached/device[0]", "type": "qemu64-x86_64-cpu"}])");
  const auto cpus = parse_hotpluggable_cpus(reply).value();
  CHECK(cpus == std::vector<HotpluggableCpu>{
                    {"qemu64-x86_64-cpu", 1, std::nullopt, 0, 1, 0, std::nullopt},
                    {"qemu64-x86_64-cpu", 1, "/machine/unattached/device[0]", 0, 0, 0, 0}});
  CHECK_FALSE(cpus[0].plugged());
  CHECK(cpus[1].plugged());
}

TEST_CASE("query-hotpluggable-cpus of another shape is a protocol error") {
  for (const char* bad :
       {R"({"type": "x"})",
        R"([{"vcpus-count": 1, "props": {}}])",               // no type
        R"([{"type": "x", "props": {}}])",                    // no vcpus-count
        R"([{"type": "x", "vcpus-count": 1}])",               // no props
        R"([{"type": "x", "vcpus-count": 1, "props": []}])",  // props not an object
        R"([{"type": "x", "vcpus-count": 1, "props": {}, "qom-path": 5}])", R"([7])"}) {
    CAPTURE(bad);
    const auto result = parse_hotpluggable_cpus(json::parse(bad));
    REQUIRE_FALSE(result.has_value());
    CHECK(result.error().kind == QmpError::Kind::protocol);
    CHECK(result.error().desc.starts_with("unexpected query-hotpluggable-cpus reply: "));
  }
}

TEST_CASE("query-blockstats: a -blockdev disk, a legacy drive, and a bare node") {
  const auto reply = json::parse(R"([
    {"device": "", "qdev": "/machine/peripheral/disk0/virtio-backend", "node-name": "disk0-fmt",
     "stats": {"rd_bytes": 4096, "wr_bytes": 512, "rd_operations": 2, "wr_operations": 1,
               "flush_operations": 3, "unmap_operations": 0, "rd_merged": 0, "wr_merged": 0,
               "wr_highest_offset": 512, "timed_stats": [], "account_invalid": true,
               "account_failed": true, "idle_time_ns": 100},
     "parent": {"node-name": "disk0-file", "stats": {"rd_bytes": 4096, "wr_bytes": 512,
                "rd_operations": 2, "wr_operations": 1, "flush_operations": 3}}},
    {"device": "ide0-hd0", "qdev": "/machine/unattached/device[20]",
     "stats": {"rd_bytes": 0, "wr_bytes": 0, "rd_operations": 0, "wr_operations": 0,
               "flush_operations": 0}},
    {"node-name": "null0",
     "stats": {"rd_bytes": 1, "wr_bytes": 2, "rd_operations": 3, "wr_operations": 4,
               "flush_operations": 5}}])");
  CHECK(parse_blockstats(reply).value() ==
        std::vector<BlockStats>{
            {"", "disk0-fmt", "/machine/peripheral/disk0/virtio-backend", 4096, 512, 2, 1, 3},
            {"ide0-hd0", "", "/machine/unattached/device[20]", 0, 0, 0, 0, 0},
            {"", "null0", "", 1, 2, 3, 4, 5}});
}

TEST_CASE("query-blockstats of another shape is a protocol error") {
  for (const char* bad : {R"({})",
                          R"([{"device": "x"}])",               // no stats
                          R"([{"device": "x", "stats": []}])",  // stats not an object
                          R"([{"stats": {"rd_bytes": 0, "wr_bytes": 0, "rd_operations": 0,
                          "wr_operations": 0}}])",              // no flush_operations
                          R"([{"stats": {"rd_bytes": "0", "wr_bytes": 0, "rd_operations": 0,
                          "wr_operations": 0, "flush_operations": 0}}])"}) {
    CAPTURE(bad);
    const auto result = parse_blockstats(json::parse(bad));
    REQUIRE_FALSE(result.has_value());
    CHECK(result.error().kind == QmpError::Kind::protocol);
  }
}

TEST_CASE("query-balloon") {
  CHECK(parse_balloon(json::parse(R"({"actual": 268435456})")).value() == 268435456);
  for (const char* bad : {R"({})", R"({"actual": "1G"})", R"([])", R"(null)"}) {
    CAPTURE(bad);
    const auto result = parse_balloon(json::parse(bad));
    REQUIRE_FALSE(result.has_value());
    CHECK(result.error().kind == QmpError::Kind::protocol);
  }
  CHECK(parse_balloon(json::parse(R"([])")).error().to_string() ==
        "QMP protocol error: unexpected query-balloon reply: []");
}

TEST_CASE("query-migrate before any migration, and on a destination that listens") {
  CHECK(parse_migrate(json::parse("{}")).value() == MigrationInfo{});
  CHECK(parse_migrate(json::parse(R"({"socket-address": [{"path": "/run/m.sock",
                                      "type": "unix"}]})"))
            .value() == MigrationInfo{});
}

TEST_CASE("query-migrate while active, paused before switchover, completed, failed") {
  const auto active = json::parse(R"({"expected-downtime": 300, "status": "pre-switchover",
    "setup-time": 5, "total-time": 110,
    "ram": {"total": 67641344, "postcopy-requests": 0, "dirty-sync-count": 1,
            "multifd-bytes": 0, "pages-per-second": 0, "downtime-bytes": 357563,
            "page-size": 4096, "remaining": 0, "postcopy-bytes": 0, "mbps": 0,
            "transferred": 357563, "dirty-sync-missed-zero-copy": 0, "precopy-bytes": 0,
            "duplicate": 16463, "dirty-pages-rate": 0, "skipped": 0, "normal-bytes": 208896,
            "normal": 51}})");
  CHECK(parse_migrate(active).value() == MigrationInfo{"pre-switchover",
                                                       MigrationRam{357563, 0, 67641344, 0, 1}, 300,
                                                       std::nullopt, 110, 5, ""});
  const auto completed = json::parse(R"({"status": "completed", "setup-time": 5,
    "downtime": 93, "total-time": 111,
    "ram": {"total": 67641344, "dirty-sync-count": 2, "remaining": 0, "mbps": 32.7388679245283,
            "transferred": 357563, "dirty-pages-rate": 12, "duplicate": 16463, "skipped": 0,
            "normal-bytes": 208896, "normal": 51}})");
  CHECK(parse_migrate(completed).value() == MigrationInfo{"completed",
                                                          MigrationRam{357563, 0, 67641344, 12, 2},
                                                          std::nullopt, 93, 111, 5, ""});
  const auto failed = json::parse(R"({"status": "failed", "error-desc":
    "Failed to connect to '/tmp/x.sock': No such file or directory"})");
  CHECK(parse_migrate(failed).value() ==
        MigrationInfo{"failed", std::nullopt, std::nullopt, std::nullopt, std::nullopt,
                      std::nullopt,
                      "Failed to connect to '/tmp/x.sock': No such file or directory"});
}

TEST_CASE("query-migrate of another shape is a protocol error") {
  for (const char* bad :
       {R"([])", R"({"status": 3})", R"({"status": "active", "ram": []})",
        R"({"status": "active", "total-time": "110"})", R"({"status": "failed", "error-desc": {}})",
        R"({"status": "active", "ram": {"transferred": 1, "remaining": 0, "total": 2,
                                           "dirty-pages-rate": 0}})"}) {  // no dirty-sync-count
    CAPTURE(bad);
    const auto result = parse_migrate(json::parse(bad));
    REQUIRE_FALSE(result.has_value());
    CHECK(result.error().kind == QmpError::Kind::protocol);
    CHECK(result.error().desc.starts_with("unexpected query-migrate reply: "));
  }
}

TEST_CASE("query-migrate-capabilities") {
  CHECK(parse_migrate_capabilities(json::parse(R"([
          {"state": false, "capability": "xbzrle"}, {"state": true, "capability": "events"},
          {"state": true, "capability": "pause-before-switchover"}])"))
            .value() == std::vector<MigrationCapability>{{"xbzrle", false},
                                                         {"events", true},
                                                         {"pause-before-switchover", true}});
  for (const char* bad : {R"({})", R"([{"capability": "events"}])",
                          R"([{"capability": "events", "state": "on"}])", R"([{"state": true}])"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_migrate_capabilities(json::parse(bad)).has_value());
  }
}
