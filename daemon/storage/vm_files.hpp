#pragma once
// The files a rendered VM needs before its processes start (per-VM VARS copy, TPM state
// directory, DiskOrCreate and emptyDisk images), made by the daemon's start and by `qmctl trial`;
// and the formatting of a new image, which claims share.
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <expected>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "cmdline/render.hpp"

namespace qmd::daemon::storage {

struct FileOwner {
  uid_t uid = 0;
  gid_t gid = 0;
};

// Where the daemon lets images be made. An image named <runDir>/NAME (emptyDisk) is created
// through the run directory's descriptor; any other (a user's DiskOrCreate path) beneath a
// storage root. Without places (`qmctl trial`, run by the user whose files they are) an image
// is created by its path, still with O_EXCL|O_NOFOLLOW.
struct PrepPlaces {
  std::vector<std::string> roots;
  std::string run_dir;
};

// Makes every FilePrep of `result` within `timeout` (qemu-img output goes to `log`); existing
// files are kept. With `owner`, what is made is handed to it through the descriptor qmd made
// it with (QEMU runs as another user when qmd is root); a path is never chowned. Returns what
// failed, naming the path, or nullopt.
std::optional<std::string> prepare_files(const cmdline::RenderResult& result,
                                         const std::string& log,
                                         std::chrono::milliseconds timeout,
                                         const std::function<void(const std::string&)>& report,
                                         std::optional<FileOwner> owner = std::nullopt,
                                         const PrepPlaces* places = nullptr);

// Gives the new, empty image open as `fd` its format and virtual size: raw by ftruncate,
// qcow2 by qemu-img on the descriptor (never on a path someone could swap) within `timeout`.
std::expected<void, std::string> format_image(int fd, const std::string& format,
                                              std::uint64_t size, const std::string& qemu_img,
                                              const std::string& log,
                                              std::chrono::milliseconds timeout);

}  // namespace qmd::daemon::storage
