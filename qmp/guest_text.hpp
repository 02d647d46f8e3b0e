#pragma once
// Text that came from a guest (the agent's replies) or from a peer that may be hostile (a
// compromised QEMU), made fit for events, logs, error messages and stored records.
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstddef>
#include <string>
#include <string_view>

namespace qmd::qmp {

// Limits in characters (code points), not bytes: a character takes at most 4 bytes.
inline constexpr std::size_t agent_version_max_chars = 64;
inline constexpr std::size_t guest_text_max_chars = 1024;  // names, paths, OS strings, errors
inline constexpr std::size_t excerpt_max_bytes = 200;      // a peer's JSON quoted in an error

// `text` as valid UTF-8 of at most `max_chars` characters, every one printable: each byte
// that is not part of a well-formed UTF-8 sequence, each control character (C0, DEL, C1,
// U+2028/9) and each bidirectional override becomes '?'. Longer text keeps its first
// `max_chars - 1` characters and ends in U+2026 '…'. Reads at most the bytes it keeps (an
// 8 MiB string costs what its first characters cost).
std::string sanitize_guest_text(std::string_view text,
                                std::size_t max_chars = guest_text_max_chars);

// The start of `value` serialised, sanitised, at most `max_bytes` bytes of JSON (then "...");
// serialises no more than that.
std::string json_excerpt(const boost::json::value& value,
                         std::size_t max_bytes = excerpt_max_bytes);
std::string json_excerpt(const boost::json::object& value,
                         std::size_t max_bytes = excerpt_max_bytes);

}  // namespace qmd::qmp
