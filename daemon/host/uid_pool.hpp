#pragma once
// The uids of qemuUids a root qmd gives its VMs, one each: a VM keeps its uid from its first
// start until it is deleted. A uid is never handed out while a VM holds it or while any
// process runs with it (as a real, effective, saved or filesystem uid or gid).
#include <sys/types.h>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/host/uid_range.hpp"
#include "daemon/host/uid_range_lock.hpp"

namespace qmd::daemon {

class UidPool {
 public:
  // `groups`: the supplementary groups every VM's QEMU gets (those of /dev/kvm and the like).
  UidPool(UidRange range, std::vector<gid_t> groups);

  const UidRange& range() const { return range_; }
  const std::vector<gid_t>& groups() const { return groups_; }
  // A VM's recorded uid (loaded, or just taken); ids outside the range are not counted.
  void hold(uid_t uid);
  void release(uid_t uid);
  bool held(uid_t uid) const { return held_.contains(uid); }
  // The next uid after the last one handed out (wrapping) that no VM holds and `running`
  // does not name; held at once. Nothing when every uid is taken.
  std::optional<uid_t> take(const std::set<uid_t>& running);
  // qmd's host-wide claim on the range (uid_range_lock.hpp), kept as long as the pool.
  void keep(UidRangeLock lock) { lock_.emplace(std::move(lock)); }

 private:
  UidRange range_;
  std::vector<gid_t> groups_;
  std::multiset<uid_t> held_;
  std::uint32_t next_ = 0;  // offset from range_.first where the next search begins
  std::optional<UidRangeLock> lock_;
};

// The uids and gids of a /proc/PID/status text (Uid: and Gid: lines, four each).
std::vector<std::uint64_t> status_ids(std::string_view status);
// Every id of `range` some process of `proc` (not a zombie) runs with, with the first as
// "pid N (comm)". Reads /proc: call it off the loop thread.
std::map<uid_t, std::string> ids_in_use(const UidRange& range,
                                        const std::string& proc = "/proc");
// The groups of /dev/kvm, /dev/vhost-net and /dev/net/tun that may open them (not root's).
std::vector<gid_t> device_groups();

}  // namespace qmd::daemon
