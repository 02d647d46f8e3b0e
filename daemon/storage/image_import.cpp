#include "daemon/storage/image_import.hpp"

#include <fcntl.h>
#include <fmt/chrono.h>
#include <fmt/format.h>
#include <linux/fs.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json/serialize.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "daemon/storage/container_disk_archive.hpp"
#include "daemon/store/remove_tree.hpp"
#include "daemon/store/storage_roots.hpp"
#include "policy/claims.hpp"

namespace qmd::daemon::storage {

namespace {

namespace json = boost::json;

// The disk to copy in: the file itself, or what came out of its archive or layout.
std::expected<UniqueFd, std::string> disk_of(UniqueFd source, int store,
                                             const std::string& work_name,
                                             const Places& places, const Tools& tools) {
  struct stat st {};
  (void)::fstat(source.get(), &st);
  if (!S_ISDIR(st.st_mode) && !looks_like_archive(source.get())) {
    return source;
  }
  remove_tree_at(store, work_name.c_str());
  if (::mkdirat(store, work_name.c_str(), 0700) != 0) {
    return std::unexpected(fmt::format("make {}/{}: {}", places.images, work_name,
                                       std::strerror(errno)));
  }
  UniqueFd work(::openat(store, work_name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  const std::string work_path = places.images + "/" + work_name;
  if (S_ISDIR(st.st_mode)) {
    return disk_from_oci(source.get(), work.get(), work_path, kMaxArchiveDisk, tools);
  }
  return disk_from_tar(source.get(), work.get(), work_path, kMaxArchiveDisk, tools);
}

std::expected<void, std::string> write_index(int store, const std::string& stem,
                                             const std::string& ref, const ImageInfo& info,
                                             const std::string& file) {
  json::object entry{{"ref", ref},
                     {"format", info.format},
                     {"virtualSize", info.virtual_size},
                     {"source", file},
                     {"importedAt", fmt::format("{:%FT%TZ}", std::chrono::floor<std::chrono::seconds>(
                                                                std::chrono::system_clock::now()))}};
  const std::string text = json::serialize(entry) + "\n";
  const std::string part = "." + stem + ".json.part";
  UniqueFd fd(::openat(store, part.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
                       0644));
  if (!fd || ::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()) ||
      ::renameat(store, part.c_str(), store, (stem + ".json").c_str()) != 0) {
    const int err = errno;
    ::unlinkat(store, part.c_str(), 0);
    return std::unexpected(fmt::format("write the index entry {}.json: {}", stem,
                                       std::strerror(err)));
  }
  return {};
}

// The checked disk copied into the hidden part file, then renamed to its stored name.
std::expected<ImageInfo, std::string> store_disk(int disk, int store, const std::string& stem,
                                                 const Tools& tools) {
  auto info = image_info(disk, tools);
  if (!info) {
    return std::unexpected(info.error());
  }
  if (info->format != "raw" && info->format != "qcow2") {
    return std::unexpected(fmt::format("it is a {} image; the store takes raw (and ISO) and qcow2",
                                       info->format));
  }
  if (info->has_backing) {
    return std::unexpected(std::string(
        "it has a backing file, which qmd does not follow; flatten it first (qemu-img convert)"));
  }
  const std::string final_name = stem + "." + info->format;
  const std::string part = "." + final_name + ".part";
  ::unlinkat(store, part.c_str(), 0);
  UniqueFd out(::openat(store, part.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                        0600));
  if (!out) {
    return std::unexpected(fmt::format("create {}: {}", part, std::strerror(errno)));
  }
  auto copied = copy_image(disk, info->format, out.get(), info->format, info->virtual_size, tools);
  if (copied) {
    copied = hand_over(out.get(), tools);
  }
  if (copied && ::renameat2(store, part.c_str(), store, final_name.c_str(), RENAME_NOREPLACE) != 0) {
    copied = std::unexpected(fmt::format("rename to {}: {}", final_name, std::strerror(errno)));
  }
  if (!copied) {
    ::unlinkat(store, part.c_str(), 0);
    return std::unexpected(copied.error());
  }
  return *info;
}

}  // namespace

std::expected<StoredImage, std::string> import_image(const Places& places, const std::string& ref,
                                                     const std::string& file, const Tools& tools) {
  if (auto parsed = policy::parse_image_ref(ref); !parsed) {
    return std::unexpected(parsed.error());
  }
  if (auto stored = find_image(places, ref); stored) {
    return std::unexpected(fmt::format("image {} is in the store already ({}); `qmctl image "
                                       "delete {}` first to replace it",
                                       ref, stored->path, ref));
  }
  auto source = open_beneath(places.roots, file, O_RDONLY | O_NONBLOCK);
  if (!source) {
    return std::unexpected(source.error().message);
  }
  auto store = open_beneath(places.roots, places.images, O_PATH | O_DIRECTORY);
  if (!store) {
    return std::unexpected(fmt::format("the image store: {}", store.error().message));
  }
  const std::string stem = policy::image_file_stem(ref);
  const std::string work_name = "." + stem + ".import";
  auto disk = disk_of(std::move(*source), store->get(), work_name, places, tools);
  auto stored = disk ? store_disk(disk->get(), store->get(), stem, tools)
                     : std::expected<ImageInfo, std::string>(std::unexpected(disk.error()));
  remove_tree_at(store->get(), work_name.c_str());
  if (!stored) {
    return std::unexpected(fmt::format("import {} as {}: {}", file, ref, stored.error()));
  }
  if (auto indexed = write_index(store->get(), stem, ref, *stored, file); !indexed) {
    return std::unexpected(indexed.error());
  }
  return find_image(places, ref);
}

std::expected<StoredImage, std::string> delete_image(const Places& places,
                                                     const std::string& ref) {
  auto image = find_image(places, ref);
  if (!image) {
    return std::unexpected(image.error());
  }
  auto store = open_beneath(places.roots, places.images, O_PATH | O_DIRECTORY);
  if (!store) {
    return std::unexpected(fmt::format("the image store: {}", store.error().message));
  }
  const std::string stem = policy::image_file_stem(ref);
  for (const auto* ext : {".qcow2", ".raw", ".json"}) {
    ::unlinkat(store->get(), (stem + ext).c_str(), 0);
  }
  return *image;
}

}  // namespace qmd::daemon::storage
