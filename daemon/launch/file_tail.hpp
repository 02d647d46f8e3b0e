#pragma once
// The tail of a child's log (launcher.hpp opens them), which may sit in a directory the QEMU
// user writes: read through no link, never blocking on a FIFO, and only its last bytes.
#include <cstddef>
#include <string>

namespace qmd::daemon {

// The last `lines` lines (0: all) of at most the last `max_bytes` of a regular file, never
// through a link or a FIFO ("" when it cannot be read).
inline constexpr std::size_t kTailBytes = 1 << 20;
std::string file_tail(const std::string& path, std::size_t lines,
                      std::size_t max_bytes = kTailBytes);

}  // namespace qmd::daemon
