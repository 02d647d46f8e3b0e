#pragma once
// Disks reach QEMU as descriptors, not paths: qmd opens each disk image itself (beneath a
// storage root, or an emptyDisk in the run directory, never through a link) and QEMU gets
// the descriptor in an fd set (`-add-fd fd=N,set=S` with `filename=/dev/fdset/S`; on hotplug
// QMP add-fd with the descriptor over the socket). So an image the QEMU user cannot open --
// a root-owned 0600 file in a root -- still works, and QEMU never resolves a user's path.
// The renderer stays pure and keeps the paths (what `qmctl render` shows); the daemon
// rewrites the argv it launches.
#include <cstddef>
#include <expected>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/unique_fd.hpp"

namespace qmd::daemon {

// A disk's protocol node (node-name file-X, driver file or host_device) in the argv.
struct BlockFile {
  std::size_t arg = 0;    // index of its -blockdev JSON in the args
  std::string node;       // file-X
  std::string filename;
  bool readonly = false;
};

// The disk protocol nodes of `args` (QEMU's argv without the binary). Pure.
std::vector<BlockFile> disk_files(const std::vector<std::string>& args);

// `args` with each file's filename replaced by /dev/fdset/<i+1> and auto-read-only off, and
// `-add-fd fd=N,set=<i+1>,opaque=NODE` before its -blockdev for each descriptor number in
// fds[i]. Image locking stays QEMU's default (on). Pure.
std::vector<std::string> with_fdsets(const std::vector<std::string>& args,
                                     const std::vector<BlockFile>& files,
                                     const std::vector<std::vector<int>>& fds);

// `text` (QEMU's output) with each /dev/fdset/N it names replaced by images[N-1], the image
// that set holds: QEMU knows a disk only by its set ("Failed to get \"write\" lock ... [/dev/
// fdset/2]"), the user by its path. Pure.
std::string with_image_names(std::string_view text, const std::vector<std::string>& images);

// Opens the image of one disk for QEMU: one descriptor, read-write for a writable disk and
// read-only for a read-only one (with_fdsets turns auto-read-only off, so QEMU never asks the
// set for the other mode). An image in `run_dir` (emptyDisk) is opened through that
// directory's descriptor; one of `devices` (storage.claimDevices: the administrator's block
// devices) by its path, and only if it is a block device; any other beneath `roots`.
std::expected<std::vector<UniqueFd>, std::string> open_disk_image(
    const std::string& path, bool readonly, std::span<const std::string> roots,
    const std::string& run_dir, std::span<const std::string> devices = {});

}  // namespace qmd::daemon
