#pragma once
// qemu-img and tar for the storage commands, each bounded by a timeout and always given the
// files through qmd's own descriptors (/proc/<qmd>/fd/N): no tool ever resolves a user's path,
// and no image's header can make a tool open another file (sources are read with backing
// off, `json:{..., "backing": null}`).
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <expected>
#include <optional>
#include <string>

namespace qmd::daemon::storage {

struct Tools {
  std::string qemu_img = "qemu-img";
  std::string tar = "tar";
  std::string log;  // where the tools' output goes (a file qmd owns)
  std::optional<std::pair<uid_t, gid_t>> owner;  // who gets what is made (the QEMU user)
  std::chrono::milliseconds copy_timeout{std::chrono::hours(1)};
  std::chrono::milliseconds quick_timeout{std::chrono::seconds(60)};
};

// qemu-img next to the QEMU binary, as vm_files finds it.
std::string qemu_img_beside(const std::string& qemu_binary);

// /proc/<qmd>/fd/N
std::string fd_path(int fd);

struct ImageInfo {
  std::string format;  // what qemu-img found: raw, qcow2, ...
  std::uint64_t virtual_size = 0;
  bool has_backing = false;
};
// `qemu-img info` of the image open as `fd` (qemu-img probes the format; it opens no backing).
std::expected<ImageInfo, std::string> image_info(int fd, const Tools& tools);

// Refuses a qcow2 image whose header names an external data file: QEMU and qemu-img open that
// file by the path in the header, past every root check (as root, for qemu-img). Other
// images, and anything unreadable as qcow2, pass.
std::expected<void, std::string> refuse_external_data_file(int fd);

// The image open as `from` (format `from_format`, its backing never opened) copied into the
// empty `to` as `to_format`, at least `size` bytes of virtual size.
std::expected<void, std::string> copy_image(int from, const std::string& from_format, int to,
                                            const std::string& to_format, std::uint64_t size,
                                            const Tools& tools);

// The image open as `fd` grown to `size` bytes (qcow2 by qemu-img, raw by ftruncate).
std::expected<void, std::string> grow_image(int fd, const std::string& format,
                                            std::uint64_t size, const Tools& tools);

// Hands `fd`'s file to tools.owner (when set).
std::expected<void, std::string> hand_over(int fd, const Tools& tools);

}  // namespace qmd::daemon::storage
