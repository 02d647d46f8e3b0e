#include "qmp/framing.hpp"

#include "qmp/guest_text.hpp"

#include <fmt/format.h>

#include <boost/json/serialize.hpp>

namespace qmd::qmp {
namespace {

bool is_json_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

QmpError protocol(std::string desc) {
  return QmpError{QmpError::Kind::protocol, "", std::move(desc)};
}

}  // namespace

JsonStreamDecoder::JsonStreamDecoder(std::size_t max_message) : max_message_(max_message) {}

std::optional<QmpError> JsonStreamDecoder::feed(std::string_view bytes,
                                                std::vector<boost::json::object>& out) {
  if (failed_) {
    return protocol("the QMP stream already failed to decode");
  }
  while (!bytes.empty()) {
    // Whitespace between messages belongs to none of them, so it never counts to the limit.
    if (in_message_ == 0 && is_json_space(bytes.front())) {
      bytes.remove_prefix(1);
      continue;
    }
    // Never hand the parser more than the limit allows, so an endless message costs bounded memory.
    const std::size_t room = max_message_ > in_message_ ? max_message_ - in_message_ : 0;
    const std::size_t chunk = std::min(bytes.size(), room + 1);
    boost::system::error_code ec;
    const std::size_t used = parser_.write_some(bytes.data(), chunk, ec);
    if (ec) {
      failed_ = true;
      return protocol(
          fmt::format("malformed JSON from the peer: {} (near \"{}\")", ec.message(),
                      sanitize_guest_text(bytes.substr(0, std::min<std::size_t>(bytes.size(), 40)))));
    }
    // The parser also takes the whitespace after a finished value; that is not the message.
    std::size_t trailing = 0;
    if (parser_.done()) {
      while (trailing < used && is_json_space(bytes[used - 1 - trailing])) {
        ++trailing;
      }
    }
    in_message_ += used - trailing;
    bytes.remove_prefix(used);
    if (in_message_ > max_message_) {
      failed_ = true;
      return QmpError{QmpError::Kind::oversize, "",
                      fmt::format("a message from the peer exceeds the {} byte limit",
                                  max_message_)};
    }
    if (parser_.done()) {
      boost::json::value value = parser_.release();
      parser_.reset();
      in_message_ = 0;
      if (!value.is_object()) {
        failed_ = true;
        return protocol(
            fmt::format("expected a JSON object from the peer, got {}", json_excerpt(value)));
      }
      out.push_back(std::move(value.as_object()));
    }
  }
  return std::nullopt;
}

}  // namespace qmd::qmp
