#pragma once
// The container disk image store: the image imported under reference R (exactly as a spec
// writes containerDisk.image) is <images>/<stem>.qcow2 or .raw, stem = image_file_stem(R)
// (policy/claims.hpp), with <stem>.json beside it: the index entry (reference, format,
// source, import time). Opened beneath the storage roots, never through a link.
#include <cstdint>
#include <expected>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/storage/places.hpp"

namespace qmd::daemon::storage {

struct StoredImage {
  std::string ref;
  std::string path;
  std::string format;  // qcow2|raw
  std::uint64_t virtual_size = 0;
  std::uint64_t bytes = 0;  // on the host's disk
  std::string source;       // what it was imported from
  std::string imported_at;
};

// <images>/<stem>.<ext>, the path an image of `format` is stored at.
std::string image_path(const Places& places, std::string_view ref, std::string_view format);
// <images>/<stem>.json
std::string image_index_path(const Places& places, std::string_view ref);

// The image stored under `ref` (its size read from the image), or why not: a reference not in
// the store names it and `qmctl image import`.
std::expected<StoredImage, std::string> find_image(const Places& places, std::string_view ref);

// Every stored image, by reference.
std::vector<StoredImage> list_images(const Places& places);

}  // namespace qmd::daemon::storage
