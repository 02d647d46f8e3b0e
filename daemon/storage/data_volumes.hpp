#pragma once
// dataVolumeTemplates on one host: each template's claim, when missing, made from its source
// (blank, a clone of another claim, an image from the store, an http(s) download with a
// timeout and a size cap). Blocking (qemu-img, curl): run on the blocking pool. A failure
// removes the claims this call made, and only those.
#include <chrono>
#include <cstdint>
#include <expected>
#include <string>
#include <vector>

#include "daemon/storage/claim_ops.hpp"
#include "policy/spec.hpp"

namespace qmd::daemon::storage {

struct Download {
  std::string curl = "curl";
  std::string prlimit = "prlimit";  // the size cap as RLIMIT_FSIZE: curl dies at the cap
  std::chrono::seconds timeout{3600};
  std::chrono::seconds connect_timeout{15};
  std::uint64_t slack = 64ull << 20;  // the cap is the claim's size plus this (qcow2 metadata)
};

struct DataVolumeFailure {
  std::size_t index = 0;  // the template's place in dataVolumeTemplates
  std::string field;      // below it: "spec.source.http.url"
  std::string message;    // names the claim and what to do
};

// The names of the claims made (those that existed are left as they are).
std::expected<std::vector<std::string>, DataVolumeFailure> make_data_volumes(
    const Places& places, const std::vector<policy::DataVolumeTemplate>& templates,
    const Tools& tools, const Download& download);

}  // namespace qmd::daemon::storage
