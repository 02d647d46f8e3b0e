#include "qmp/guest_text.hpp"

#include <boost/json/serializer.hpp>

namespace qmd::qmp {
namespace {

// One code point and the bytes it took; length 0 when the bytes at `at` are not well-formed
// UTF-8 (a stray continuation byte, a cut sequence, an overlong form, a surrogate, or past
// U+10FFFF).
struct CodePoint {
  char32_t value = 0;
  std::size_t length = 0;
};

CodePoint decode_at(std::string_view text, std::size_t at) {
  const auto lead = static_cast<unsigned char>(text[at]);
  if (lead < 0x80) {
    return {lead, 1};
  }
  std::size_t length = 0;
  char32_t value = 0;
  char32_t least = 0;
  if (lead >= 0xC2 && lead < 0xE0) {
    length = 2, value = lead & 0x1Fu, least = 0x80;
  } else if (lead >= 0xE0 && lead < 0xF0) {
    length = 3, value = lead & 0x0Fu, least = 0x800;
  } else if (lead >= 0xF0 && lead < 0xF5) {
    length = 4, value = lead & 0x07u, least = 0x10000;
  } else {
    return {};
  }
  if (at + length > text.size()) {
    return {};
  }
  for (std::size_t k = 1; k < length; ++k) {
    const auto next = static_cast<unsigned char>(text[at + k]);
    if ((next & 0xC0u) != 0x80u) {
      return {};
    }
    value = (value << 6) | (next & 0x3Fu);
  }
  if (value < least || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) {
    return {};
  }
  return {value, length};
}

// Characters that move a terminal's cursor, end a log line, or reorder what follows them.
bool unprintable(char32_t c) {
  return c < 0x20 || (c >= 0x7F && c <= 0x9F) || c == 0x2028 || c == 0x2029 ||
         (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069);
}

constexpr std::string_view ellipsis = "\u2026";

}  // namespace

std::string sanitize_guest_text(std::string_view text, std::size_t max_chars) {
  std::string out;
  if (max_chars == 0) {
    return out;
  }
  std::size_t chars = 0;
  std::size_t last_start = 0;  // where the last character kept begins in `out`
  std::size_t at = 0;
  while (at < text.size()) {
    if (chars == max_chars) {
      out.resize(last_start);  // room for the ellipsis
      out += ellipsis;
      return out;
    }
    const CodePoint c = decode_at(text, at);
    last_start = out.size();
    if (c.length == 0 || unprintable(c.value)) {
      out.push_back('?');
      at += c.length == 0 ? 1 : c.length;
    } else {
      out.append(text.substr(at, c.length));
      at += c.length;
    }
    ++chars;
  }
  return out;
}

namespace {

template <typename Json>
std::string excerpt_of(const Json& value, std::size_t max_bytes) {
  boost::json::serializer serializer;
  serializer.reset(&value);
  std::string buffer(max_bytes + 1, '\0');
  const std::string_view got = serializer.read(buffer.data(), buffer.size());
  if (got.size() <= max_bytes && serializer.done()) {
    return sanitize_guest_text(got, max_bytes);
  }
  return sanitize_guest_text(got.substr(0, max_bytes), max_bytes) + "...";
}

}  // namespace

std::string json_excerpt(const boost::json::value& value, std::size_t max_bytes) {
  return excerpt_of(value, max_bytes);
}

std::string json_excerpt(const boost::json::object& value, std::size_t max_bytes) {
  return excerpt_of(value, max_bytes);
}

}  // namespace qmd::qmp
