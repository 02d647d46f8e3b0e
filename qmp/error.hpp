#pragma once
// The one error type of the QMP layer: a failed transport, a peer that broke the protocol,
// a command that got no reply in time, an error returned by QEMU, a closed connection, or a
// message over the size limit (the connection is closed too: see framing.hpp).
#include <string>

namespace qmd::qmp {

struct QmpError {
  enum class Kind { transport, protocol, timeout, command, closed, oversize };
  Kind kind = Kind::protocol;
  std::string cls;   // QEMU's error class (e.g. "CommandNotFound"); empty unless kind == command
  std::string desc;  // what happened, for a person
  std::string to_string() const;
  bool operator==(const QmpError&) const = default;
};

const char* kind_name(QmpError::Kind kind);

}  // namespace qmd::qmp
