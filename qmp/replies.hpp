#pragma once
// Typed views of the QMP replies qmd reads. Pure: a reply value in, a struct or a protocol
// error out (QEMU answering with a shape we do not expect is the peer's fault, not the user's).
#include <boost/json/value.hpp>
#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "qmp/error.hpp"

namespace qmd::qmp {

struct RunStatus {
  std::string status;  // "running", "paused", "prelaunch", "shutdown", ...
  bool running = false;
  bool operator==(const RunStatus&) const = default;
};

struct CpuInfo {
  std::int64_t cpu_index = 0;
  std::int64_t thread_id = 0;  // the vCPU's host thread, for pinning
  std::string qom_path;
  std::string target;  // "x86_64"
  std::optional<std::int64_t> socket_id, core_id, thread_in_core;
  bool operator==(const CpuInfo&) const = default;
};

struct BlockMedium {
  std::string node_name;
  std::string file;
  std::string driver;
  bool read_only = false;
  bool operator==(const BlockMedium&) const = default;
};

struct BlockDevice {
  std::string device;  // legacy drive name; empty for -blockdev disks
  std::string qdev;    // the guest device's id or QOM path
  bool removable = false;
  bool locked = false;
  std::optional<BlockMedium> inserted;  // empty for an empty CD-ROM drive
  bool operator==(const BlockDevice&) const = default;
};

// One slot of query-hotpluggable-cpus: device_add of `type` with these props plugs it.
struct HotpluggableCpu {
  std::string type;  // "qemu64-x86_64-cpu"
  std::int64_t vcpus_count = 1;
  std::optional<std::string> qom_path;  // set once the slot is plugged
  std::optional<std::int64_t> socket_id, core_id, thread_id, node_id;
  bool plugged() const { return qom_path.has_value(); }
  bool operator==(const HotpluggableCpu&) const = default;
};

// One entry of query-blockstats: a device's backend, or (with query-nodes) a named node.
struct BlockStats {
  std::string device;     // legacy drive name; empty for -blockdev disks and bare nodes
  std::string node_name;  // empty when QEMU does not name the node
  std::string qdev;       // the guest device's id or QOM path; empty for bare nodes
  std::int64_t rd_bytes = 0, wr_bytes = 0;
  std::int64_t rd_operations = 0, wr_operations = 0, flush_operations = 0;
  bool operator==(const BlockStats&) const = default;
};

struct MigrationRam {
  std::int64_t transferred = 0;       // bytes
  std::int64_t remaining = 0;         // bytes
  std::int64_t total = 0;             // bytes
  std::int64_t dirty_pages_rate = 0;  // pages per second
  std::int64_t passes = 0;            // QEMU's dirty-sync-count
  bool operator==(const MigrationRam&) const = default;
};

// query-migrate. Before any migration QEMU leaves everything out: status is empty.
struct MigrationInfo {
  std::string status;  // "setup", "active", "pre-switchover", "completed", "failed", ...
  std::optional<MigrationRam> ram;
  std::optional<std::int64_t> expected_downtime, downtime, total_time, setup_time;  // ms
  std::string error_desc;  // set when status is "failed"
  bool operator==(const MigrationInfo&) const = default;
};

// add-fd's reply: the set the descriptor went into and its number inside QEMU.
struct FdsetAdded {
  std::int64_t fdset_id = 0;
  std::int64_t fd = 0;
  bool operator==(const FdsetAdded&) const = default;
};

// A migration capability by QEMU's name ("events", "pause-before-switchover") and its state.
using MigrationCapability = std::pair<std::string, bool>;

std::expected<RunStatus, QmpError> parse_status(const boost::json::value& reply);
std::expected<std::vector<CpuInfo>, QmpError> parse_cpus_fast(const boost::json::value& reply);
std::expected<std::vector<BlockDevice>, QmpError> parse_block(const boost::json::value& reply);
std::expected<std::vector<HotpluggableCpu>, QmpError> parse_hotpluggable_cpus(
    const boost::json::value& reply);
std::expected<std::vector<BlockStats>, QmpError> parse_blockstats(const boost::json::value& reply);
// query-balloon: the guest's current memory size in bytes.
std::expected<std::int64_t, QmpError> parse_balloon(const boost::json::value& reply);
std::expected<FdsetAdded, QmpError> parse_add_fd(const boost::json::value& reply);
std::expected<MigrationInfo, QmpError> parse_migrate(const boost::json::value& reply);
std::expected<std::vector<MigrationCapability>, QmpError> parse_migrate_capabilities(
    const boost::json::value& reply);

}  // namespace qmd::qmp
