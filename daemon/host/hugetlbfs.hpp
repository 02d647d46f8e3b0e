#pragma once
// 1 GiB hugepages need a hugetlbfs mount of that page size; Debian mounts only the default
// (2 MiB) one at /dev/hugepages. qmd mounts /dev/hugepages1G on demand, as root, before a VM
// that asks for 1Gi pages starts.
#include <expected>
#include <string>

namespace qmd::daemon {

// Mounts hugetlbfs with pagesize=1G at `path` (default /dev/hugepages1G) unless one is there
// already. The error names the path and says what to do.
std::expected<void, std::string> ensure_hugetlbfs_1g(const std::string& path = "/dev/hugepages1G");
// Whether `path` is a hugetlbfs mount with 1 GiB pages (from /proc/self/mountinfo text).
bool is_hugetlbfs_1g(const std::string& mountinfo, const std::string& path);

}  // namespace qmd::daemon
