#pragma once
// `qmctl image import REF FILE` and `image delete`: the image store's files (image_files.hpp).
// FILE lies beneath the storage roots (opened without following links) and is a raw or qcow2
// disk image (an ISO is raw), a tar archive holding disk/* as KubeVirt's container disks do,
// or an OCI image layout directory whose layers hold disk/*. The disk is copied by qemu-img
// (its backing never followed) into a hidden part file, handed to the QEMU user and renamed
// into place, then its index entry written; a failure leaves nothing. Blocking.
#include <expected>
#include <string>

#include "daemon/storage/image_files.hpp"
#include "daemon/storage/image_tools.hpp"

namespace qmd::daemon::storage {

// A disk in an archive or layer bigger than this is refused before anything is extracted.
inline constexpr std::uint64_t kMaxArchiveDisk = 64ULL << 30;

std::expected<StoredImage, std::string> import_image(const Places& places, const std::string& ref,
                                                     const std::string& file, const Tools& tools);

std::expected<StoredImage, std::string> delete_image(const Places& places, const std::string& ref);

}  // namespace qmd::daemon::storage
