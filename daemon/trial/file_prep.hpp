#pragma once
// The files a rendered VM needs before its processes start (per-VM VARS copy, TPM state
// directory, DiskOrCreate images). Shared by `qmctl trial` and the daemon's start.
#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "cmdline/render.hpp"

namespace qmd::trial {

struct FileOwner {
  uid_t uid = 0;
  gid_t gid = 0;
};

// Makes every FilePrep of `result` within `timeout` (qemu-img output goes to `log`); existing
// files are kept. With `owner`, what is made is chown'ed to it (QEMU runs as another user
// when qmd is root). Returns what failed, naming the path, or nullopt.
std::optional<std::string> prepare_files(const cmdline::RenderResult& result,
                                         const std::string& log,
                                         std::chrono::milliseconds timeout,
                                         const std::function<void(const std::string&)>& report,
                                         std::optional<FileOwner> owner = std::nullopt);

}  // namespace qmd::trial
