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

// Size caps per message. A message over its cap ends the connection it came on (the client
// says Kind::oversize); the reader never holds more than the cap of one message. The numbers
// and what happens next are documented in docs/guest-limits.md.
// QMP: the largest reply of QEMU 7.2 is query-qmp-schema, 206 999 bytes (q35, measured);
// the next are query-cpu-definitions (35 KB) and qom-list-types (34 KB). 4 MiB is 20 times
// the schema.
inline constexpr std::size_t qmp_max_message = 4u * 1024u * 1024u;

// QGA: every reply qmd asks for is a few KB (guest-info with its command list ~6 KB), except
// guest-exec-status.
inline constexpr std::size_t qga_max_message = 1024u * 1024u;
// qemu-ga keeps at most 16 MiB of a guest-exec's stdout and as much of its stderr
// (GUEST_EXEC_MAX_OUTPUT in qga/commands.c; more sets out-truncated/err-truncated) and sends
// both base64-encoded in one guest-exec-status reply.
inline constexpr std::size_t qga_exec_output_max = 16u * 1024u * 1024u;
inline constexpr std::size_t base64_size(std::size_t bytes) { return (bytes + 2) / 3 * 4; }
inline constexpr std::size_t qga_exec_status_max_message =
    2 * base64_size(qga_exec_output_max) + 64u * 1024u;

class JsonStreamDecoder {
 public:
  explicit JsonStreamDecoder(std::size_t max_message = qmp_max_message);

  // Appends to `out` every object completed by `bytes`, in order, up to the first error
  // (garbage, a top-level value that is not an object: Kind::protocol; a message over the
  // limit: Kind::oversize), which is returned; the decoder then stays failed.
  std::optional<QmpError> feed(std::string_view bytes, std::vector<boost::json::object>& out);

  // Bytes of a message started but not finished.
  std::size_t buffered() const { return in_message_; }
  std::size_t max_message() const { return max_message_; }
  // A new limit for the message being decoded (counting what it has already) and later ones.
  void set_max_message(std::size_t max_message) { max_message_ = max_message; }

 private:
  boost::json::stream_parser parser_;
  std::size_t max_message_;
  std::size_t in_message_ = 0;
  bool failed_ = false;
};

}  // namespace qmd::qmp
