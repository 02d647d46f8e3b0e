#pragma once
// Incremental decoder for QMP's stream of JSON objects (one per line from QEMU, but a read may
// hold part of one, or several). Pure: bytes in, complete objects out.
#include <boost/json/object.hpp>
#include <boost/json/stream_parser.hpp>
#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

#include "qmp/error.hpp"

namespace qmd::qmp {

// query-qmp-schema is about 200 KiB on QEMU 7.2; 64 MiB leaves room and still bounds memory.
inline constexpr std::size_t default_max_message = 64u * 1024u * 1024u;

class JsonStreamDecoder {
 public:
  explicit JsonStreamDecoder(std::size_t max_message = default_max_message);

  // Appends to `out` every object completed by `bytes`, in order, up to the first error
  // (garbage, a message over the limit, a top-level value that is not an object), which is
  // returned; the decoder then stays failed.
  std::optional<QmpError> feed(std::string_view bytes, std::vector<boost::json::object>& out);

  // Bytes of a message started but not finished.
  std::size_t buffered() const { return in_message_; }

 private:
  boost::json::stream_parser parser_;
  std::size_t max_message_;
  std::size_t in_message_ = 0;
  bool failed_ = false;
};

}  // namespace qmd::qmp
