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
