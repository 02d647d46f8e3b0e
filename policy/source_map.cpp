#include "policy/source_map.hpp"

#include <fmt/format.h>

namespace qmd::policy {

std::string SourceMap::spec_path(std::string_view relative) const {
  if (relative.empty()) {
    return template_prefix_;
  }
  return fmt::format("{}.{}", template_prefix_, relative);
}

Mark SourceMap::find(std::string_view full_path) const {
  std::string_view path = full_path;
  while (!path.empty()) {
    if (auto it = marks_.find(path); it != marks_.end()) {
      return it->second;
    }
    // Walk up one level: "a.b[2].c" -> "a.b[2]" -> "a.b" -> "a".
    const auto cut = path.find_last_of(".[");
    if (cut == std::string_view::npos) {
      break;
    }
    path = path.substr(0, cut);
  }
  return {};
}

SpecError SourceMap::error_at(std::string_view relative, std::string message) const {
  return error_at_full(spec_path(relative), std::move(message));
}

SpecError SourceMap::error_at_full(std::string_view full_path, std::string message) const {
  return SpecError{std::string(full_path), std::move(message), file_, find(full_path)};
}

}  // namespace qmd::policy
