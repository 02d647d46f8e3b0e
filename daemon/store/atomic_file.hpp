#pragma once
// Writes that are never seen half done: a temporary file in the same directory, written and
// fsync'ed, renamed over the target, then the directory fsync'ed. A crash at any point
// leaves either the old content or the new one.
#include <expected>
#include <string>
#include <string_view>

namespace qmd::daemon {

// The error says which path and which step failed ("write /x/spec.yaml: No space left ...").
std::expected<void, std::string> write_file_atomic(const std::string& path,
                                                   std::string_view content,
                                                   unsigned mode = 0640);
// The same write, atomic against a crash of qmd but not of the host: nothing is fsync'ed. For
// files whose life ends with the host's anyway (the run dir's pidfile) and for logs: a
// start has no fsync to wait for on a busy disk.
std::expected<void, std::string> replace_file(const std::string& path, std::string_view content,
                                              unsigned mode = 0640);
// Reads a whole file; the error names the path.
std::expected<std::string, std::string> read_file(const std::string& path);

}  // namespace qmd::daemon
