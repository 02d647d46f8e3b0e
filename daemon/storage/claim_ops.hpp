#pragma once
// `qmctl volume create|delete|resize`: the claim files themselves. Blocking (qemu-img, file
// copies): the API runs them on the blocking pool, after the registry said which VMs use the
// claim. Every file is reached beneath the storage roots without following a link; a claim
// made is created by qmd and handed to the QEMU user through its descriptor; a failure removes
// what was made, and only that.
#include <cstdint>
#include <expected>
#include <string>

#include "daemon/storage/claim_files.hpp"
#include "daemon/storage/image_tools.hpp"

namespace qmd::daemon::storage {

struct NewClaim {
  std::string name;
  std::uint64_t size = 0;  // 0 with from/clone: the source's size
  std::string format = "qcow2";
  std::string from;   // an image file beneath the storage roots, copied in
  std::string clone;  // another claim, copied
};

std::expected<ClaimFile, std::string> create_claim(const Places& places, const NewClaim& request,
                                                   const Tools& tools);

// Removes the claim's file (a claim device is the administrator's: refused).
std::expected<ClaimFile, std::string> delete_claim(const Places& places, const std::string& name);

// Grows the claim to `size` bytes of virtual size; smaller than it is now is refused.
std::expected<ClaimFile, std::string> resize_claim(const Places& places, const std::string& name,
                                                   std::uint64_t size, const Tools& tools);

}  // namespace qmd::daemon::storage
