#include "daemon/storage/image_files.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/json/parse.hpp>

#include "daemon/storage/image_size.hpp"
#include "daemon/store/storage_roots.hpp"
#include "policy/claims.hpp"

namespace qmd::daemon::storage {

namespace {

namespace json = boost::json;
using Why = PathRefusal::Why;

constexpr std::array<std::string_view, 2> kFormats{"qcow2", "raw"};
constexpr std::size_t kMaxIndexBytes = 64 * 1024;

std::string index_field(const json::object& index, std::string_view key) {
  const auto* value = index.if_contains(key);
  return value != nullptr && value->is_string() ? std::string(value->as_string()) : std::string();
}

// The index entry's source and time, when it is there and readable.
void read_index(const Places& places, StoredImage& image) {
  auto fd = open_beneath(places.roots, image_index_path(places, image.ref), O_RDONLY);
  if (!fd) {
    return;
  }
  std::string text(kMaxIndexBytes, '\0');
  const ssize_t got = ::read(fd->get(), text.data(), text.size());
  text.resize(got > 0 ? static_cast<std::size_t>(got) : 0);
  std::error_code ec;
  const json::value parsed = json::parse(text, ec);
  if (!ec && parsed.is_object()) {
    image.source = index_field(parsed.as_object(), "source");
    image.imported_at = index_field(parsed.as_object(), "importedAt");
  }
}

}  // namespace

std::string image_path(const Places& places, std::string_view ref, std::string_view format) {
  return fmt::format("{}/{}.{}", places.images, policy::image_file_stem(ref), format);
}

std::string image_index_path(const Places& places, std::string_view ref) {
  return fmt::format("{}/{}.json", places.images, policy::image_file_stem(ref));
}

std::expected<StoredImage, std::string> find_image(const Places& places, std::string_view ref) {
  if (auto parsed = policy::parse_image_ref(ref); !parsed) {
    return std::unexpected(parsed.error());
  }
  for (const auto format : kFormats) {
    const std::string path = image_path(places, ref, format);
    auto fd = open_beneath(places.roots, path, O_RDONLY | O_NONBLOCK);
    if (!fd && fd.error().why == Why::missing) {
      continue;
    }
    if (!fd) {
      return std::unexpected(fmt::format("image {}: {}", ref, fd.error().message));
    }
    struct stat st {};
    if (::fstat(fd->get(), &st) != 0 || !S_ISREG(st.st_mode)) {
      return std::unexpected(fmt::format("image {}: {} is not a regular file", ref, path));
    }
    auto size = image_virtual_size(fd->get(), format);
    if (!size) {
      return std::unexpected(fmt::format("image {}: {}: {}", ref, path, size.error()));
    }
    StoredImage out{std::string(ref), path, std::string(format), *size,
                    static_cast<std::uint64_t>(st.st_blocks) * 512, {}, {}};
    read_index(places, out);
    return out;
  }
  return std::unexpected(fmt::format(
      "image {} is not in the image store ({}); import it with `qmctl image import {} FILE`",
      ref, places.images, ref));
}

std::vector<StoredImage> list_images(const Places& places) {
  std::vector<std::string> refs;
  auto dir = open_beneath(places.roots, places.images, O_RDONLY | O_DIRECTORY);
  if (dir) {
    DIR* stream = ::fdopendir(dir->release());
    while (const dirent* entry = stream ? ::readdir(stream) : nullptr) {
      const std::string_view file = entry->d_name;
      for (const auto format : kFormats) {
        const auto ext = fmt::format(".{}", format);
        if (!file.ends_with(ext)) {
          continue;
        }
        if (auto ref = policy::image_ref_of_stem(file.substr(0, file.size() - ext.size()))) {
          refs.push_back(*ref);
        }
      }
    }
    if (stream != nullptr) {
      ::closedir(stream);
    }
  }
  std::ranges::sort(refs);
  refs.erase(std::unique(refs.begin(), refs.end()), refs.end());
  std::vector<StoredImage> out;
  for (const auto& ref : refs) {
    if (auto image = find_image(places, ref)) {
      out.push_back(std::move(*image));
    }
  }
  return out;
}

}  // namespace qmd::daemon::storage
