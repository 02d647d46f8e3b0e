#pragma once
// Two qmds of one host must never hand out the same uids: each pool knows only its own VMs,
// so a uid one qmd's stopped VM still owns files with could become another qmd's new VM.
// Each root qmd holds a lock on a file naming its qemuUids in a host-wide directory for as
// long as it runs, and refuses to start while a live qmd's range overlaps its own.
#include <expected>
#include <string>

#include "daemon/host/uid_range.hpp"
#include "daemon/launch/unique_fd.hpp"

namespace qmd::daemon {

inline constexpr const char* kUidRangeDir = "/run/qmd-uids";

// Held for qmd's lifetime; the file goes when it is destroyed (a killed qmd's lock ends with
// it, and its file is ignored, then replaced by the next qmd with its pid).
class UidRangeLock {
 public:
  UidRangeLock(UniqueFd dir, UniqueFd file, std::string name)
      : dir_(std::move(dir)), file_(std::move(file)), name_(std::move(name)) {}
  UidRangeLock(UidRangeLock&&) = default;
  UidRangeLock& operator=(UidRangeLock&&) = default;
  ~UidRangeLock();
  int dir() const { return dir_.get(); }

 private:
  UniqueFd dir_;
  UniqueFd file_;
  std::string name_;
};

// Takes the lock for `range` in `dir` (made 0700 when missing; refused when it is a link or
// anyone but this process's user may write it). Refused, naming the other qmd's pid, state
// dir and range, when a live qmd's range overlaps. `state_dir` is written for that message.
std::expected<UidRangeLock, std::string> lock_uid_range(const UidRange& range,
                                                        const std::string& state_dir,
                                                        const std::string& dir = kUidRangeDir);

}  // namespace qmd::daemon
