#pragma once
// Where this host keeps claims and container disk images (qmd.yaml storage:), as the storage
// code needs it: the roots everything is opened beneath, and the two directories in them.
#include <map>
#include <string>
#include <vector>

#include "daemon/config.hpp"

namespace qmd::daemon::storage {

struct Places {
  std::vector<std::string> roots;
  std::string claims;                          // storage.claims
  std::string images;                          // storage.images
  std::map<std::string, std::string> devices;  // storage.claimDevices
};

inline Places places_of(const Config& config) {
  return {storage_roots(config), claims_dir(config), images_dir(config), config.claim_devices};
}

}  // namespace qmd::daemon::storage
