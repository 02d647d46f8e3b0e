#pragma once
// Typed views of the QMP replies qmd reads. Pure: a reply value in, a struct or a protocol
// error out (QEMU answering with a shape we do not expect is the peer's fault, not the user's).
#include <boost/json/value.hpp>
#include <cstdint>
#include <expected>
#include <optional>
#include <string>
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

std::expected<RunStatus, QmpError> parse_status(const boost::json::value& reply);
std::expected<std::vector<CpuInfo>, QmpError> parse_cpus_fast(const boost::json::value& reply);
std::expected<std::vector<BlockDevice>, QmpError> parse_block(const boost::json::value& reply);

}  // namespace qmd::qmp
