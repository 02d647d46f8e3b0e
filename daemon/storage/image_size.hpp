#pragma once
// The size a guest sees of a disk image open as `fd`: a raw file's length, a block device's
// size, or the virtual size in a qcow2 header (never the host's idea of the file size).
#include <cstdint>
#include <expected>
#include <string>
#include <string_view>

namespace qmd::daemon::storage {

std::expected<std::uint64_t, std::string> image_virtual_size(int fd, std::string_view format);

// Whether the first bytes of `fd` are a qcow2 header ("QFI\xfb").
bool has_qcow2_magic(int fd);

}  // namespace qmd::daemon::storage
