#pragma once
// HostCaps back from the JSON policy::host_caps_json writes, for the probe cache. The text
// comes from a file, so it is read as untrusted: every field is typed, the paths qmd would
// execute or hand to QEMU are checked on this host, and the result must write back to the
// same JSON (so a field the reader does not know, or one it lost, refuses the whole text).
#include <boost/json/value.hpp>
#include <expected>
#include <string>

#include "policy/host_caps.hpp"

namespace qmd::daemon {

// `qemu_binary` is the binary qmd is configured with: the caps must be about that one.
// The error names the field ("caps.swtpm.path: ...").
std::expected<policy::HostCaps, std::string> host_caps_from_json(const boost::json::value& doc,
                                                                 const std::string& qemu_binary);

// A file qmd may run or give QEMU: an absolute path without `..`, a regular file owned by
// root or by qmd's user and writable by no one else. The error says what is wrong.
std::expected<void, std::string> check_trusted_file(const std::string& path);

}  // namespace qmd::daemon
