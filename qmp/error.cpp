#include "qmp/error.hpp"

#include <fmt/format.h>

namespace qmd::qmp {

const char* kind_name(QmpError::Kind kind) {
  switch (kind) {
    case QmpError::Kind::transport:
      return "transport";
    case QmpError::Kind::protocol:
      return "protocol";
    case QmpError::Kind::timeout:
      return "timeout";
    case QmpError::Kind::command:
      return "command";
    case QmpError::Kind::closed:
      return "closed";
    case QmpError::Kind::oversize:
      return "oversize";
  }
  return "unknown";
}

std::string QmpError::to_string() const {
  if (kind == Kind::command) {
    return fmt::format("QMP error {}: {}", cls, desc);
  }
  return fmt::format("QMP {} error: {}", kind_name(kind), desc);
}

}  // namespace qmd::qmp
