#pragma once
// The disk inside a KubeVirt container disk: the one regular file under disk/ of a tar archive
// (plain or compressed), or of the last layer of an OCI image layout that has one. Extracted
// with Debian's tar into `work` (a directory only qmd can write), never through a link, the
// member's size checked from the listing first. Blocking.
#include <cstdint>
#include <expected>
#include <string>

#include "base/unique_fd.hpp"
#include "daemon/storage/image_tools.hpp"

namespace qmd::daemon::storage {

// `archive` is open as a regular file; returns the extracted disk, opened read-only.
std::expected<UniqueFd, std::string> disk_from_tar(int archive, int work, const std::string& work_path,
                                                   std::uint64_t max_bytes, const Tools& tools);

// `layout` is an open OCI image layout directory (index.json, blobs/sha256/...).
std::expected<UniqueFd, std::string> disk_from_oci(int layout, int work,
                                                   const std::string& work_path,
                                                   std::uint64_t max_bytes, const Tools& tools);

// Whether the file open as `fd` starts as a tar archive or a compressed stream (gzip, xz,
// zstd, bzip2) tar can read.
bool looks_like_archive(int fd);

}  // namespace qmd::daemon::storage
