#pragma once
// Claims on this host: persistentVolumeClaim.claimName / dataVolume.name N is the one file
// <claims>/N.qcow2, N.img or N.raw (opened beneath the storage roots, never through a link),
// or the block device storage.claimDevices names for N.
#include <cstdint>
#include <expected>
#include <string>
#include <string_view>
#include <vector>

#include "base/unique_fd.hpp"
#include "daemon/storage/places.hpp"

namespace qmd::daemon::storage {

struct ClaimFile {
  std::string name;
  std::string path;
  std::string format;  // qcow2|raw, by the file's name
  bool device = false;
};

// The claim `name`, or why there is none: missing (naming every path looked at and the
// command that makes one), two files for one name (naming both), or a refused path (a link).
std::expected<ClaimFile, std::string> find_claim(const Places& places, std::string_view name);

// The claim opened for reading (O_NONBLOCK cleared), checked to be a file or a block device.
std::expected<UniqueFd, std::string> open_claim(const Places& places, const ClaimFile& claim,
                                                int flags);

// Every claim: the files in the claims directory with a claim's name, then the devices.
std::vector<ClaimFile> list_claims(const Places& places);

}  // namespace qmd::daemon::storage
