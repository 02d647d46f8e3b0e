#include "policy/spec_error.hpp"

#include <fmt/format.h>

namespace qmd::policy {

std::string SpecError::to_string() const {
  std::string out = path.empty() ? message : fmt::format("{}: {}", path, message);
  if (mark.line > 0) {
    out += fmt::format(" ({}:{}:{})", file, mark.line, mark.column);
  } else if (!file.empty()) {
    out += fmt::format(" ({})", file);
  }
  return out;
}

std::string to_string(const SpecErrors& errors) {
  std::string out;
  for (const auto& e : errors) {
    out += e.to_string();
    out += '\n';
  }
  return out;
}

}  // namespace qmd::policy
