#pragma once
// Two qmds of one host must never hand out the same uids: each pool knows only its own VMs,
// so a uid one qmd's stopped VM still owns files with could become another qmd's new VM.
// Each root qmd holds a write lock on the bytes [first, first + count) of one host-wide file
// for as long as it runs; the kernel refuses an overlapping lock, and ends a qmd's lock with
// the qmd, however it ends.
#include <expected>
#include <string>

#include "daemon/host/uid_range.hpp"
#include "base/unique_fd.hpp"

namespace qmd::daemon {

inline constexpr const char* kUidRangeLockFile = "/run/qmd-uids.lock";

// Held for qmd's lifetime: an open file description lock, tied to this one descriptor.
class UidRangeLock {
 public:
  explicit UidRangeLock(UniqueFd file) : file_(std::move(file)) {}

 private:
  UniqueFd file_;
};

// Takes the lock for `range` in `file` (made 0600 when missing; refused when it is a link or
// anyone but this process's user may write it). Refused, naming the range held and how to
// find its qmd, while a live qmd's range overlaps.
std::expected<UidRangeLock, std::string> lock_uid_range(const UidRange& range,
                                                        const std::string& file =
                                                            kUidRangeLockFile);

}  // namespace qmd::daemon
