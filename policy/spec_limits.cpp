#include "policy/spec_limits.hpp"

#include <fmt/format.h>

namespace qmd::policy {

namespace {

// Where a scan is in the text, for line:column.
struct Cursor {
  std::string_view text;
  std::size_t at = 0;
  int line = 1;
  int column = 1;

  bool done() const { return at >= text.size(); }
  char peek(std::size_t ahead = 0) const {
    return at + ahead < text.size() ? text[at + ahead] : '\0';
  }
  void step() {
    if (text[at] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
    ++at;
  }
};

// Past a quoted string that starts at the cursor (YAML: '' escapes ', \ escapes in "").
void skip_quoted(Cursor& cursor) {
  const char quote = cursor.peek();
  cursor.step();
  while (!cursor.done()) {
    const char c = cursor.peek();
    if (quote == '"' && c == '\\') {
      cursor.step();
      if (!cursor.done()) {
        cursor.step();
      }
      continue;
    }
    cursor.step();
    if (c == quote) {
      if (quote == '\'' && cursor.peek() == '\'') {
        cursor.step();
        continue;
      }
      return;
    }
  }
}

// Past a block scalar (`|` or `>`, at the cursor): the rest of its line, then every line that
// is blank or indented deeper than the node the indicator belongs to (the first character of
// its line after blanks and "- "). Its text is a string: no collection or alias is in it.
void skip_block_scalar(Cursor& cursor) {
  const std::string_view text = cursor.text;
  const std::size_t newline = cursor.at == 0 ? std::string_view::npos
                                             : text.rfind('\n', cursor.at - 1);
  const std::size_t from = newline == std::string_view::npos ? 0 : newline + 1;
  std::size_t node = from;
  while (node < cursor.at) {
    if (text[node] == ' ') {
      ++node;
    } else if (text[node] == '-' && node + 1 < text.size() && text[node + 1] == ' ') {
      node += 2;
    } else {
      break;
    }
  }
  const std::size_t indent = node - from;
  while (!cursor.done() && cursor.peek() != '\n') {
    cursor.step();
  }
  while (!cursor.done()) {  // at a '\n': does the next line belong to the scalar?
    std::size_t spaces = 0;
    while (cursor.peek(1 + spaces) == ' ') {
      ++spaces;
    }
    const char first = cursor.peek(1 + spaces);
    const bool blank = first == '\n' || first == '\r' || first == '\0';
    if (!blank && spaces <= indent) {
      return;
    }
    cursor.step();
    while (!cursor.done() && cursor.peek() != '\n') {
      cursor.step();
    }
  }
}

// In block context a bracket opens a collection only where a value starts: at the start of
// a line or after ": ", "- ", "? " (else it is part of a plain scalar such as "a [b").
bool starts_value(char previous_significant) {
  return previous_significant == '\0' || previous_significant == '\n' ||
         previous_significant == ':' || previous_significant == '-' ||
         previous_significant == '?' || previous_significant == '[' ||
         previous_significant == '{' || previous_significant == ',';
}

}  // namespace

std::optional<SpecError> check_nesting(std::string_view text, const std::string& file,
                                       std::size_t max_depth) {
  Cursor cursor{text};
  std::size_t depth = 0;
  char previous = '\0';  // the last character that is not a blank
  while (!cursor.done()) {
    const char c = cursor.peek();
    const bool opens = (c == '[' || c == '{') && (depth > 0 || starts_value(previous));
    if (opens && ++depth > max_depth) {
      return SpecError{"",
                       fmt::format("the document nests collections more than {} levels deep; "
                                   "a VM spec needs far fewer",
                                   max_depth),
                       file, Mark{cursor.line, cursor.column}};
    }
    if ((c == '|' || c == '>') && depth == 0 &&
        (previous == ':' || previous == '-' || previous == '?')) {
      skip_block_scalar(cursor);
      continue;
    }
    if (c == '*' && (depth > 0 || starts_value(previous))) {
      return SpecError{"",
                       "a YAML alias (*name) is not accepted in a VM spec: write the value out "
                       "(aliases let a small document expand without bound)",
                       file, Mark{cursor.line, cursor.column}};
    }
    if ((c == '&' || c == '!') && (depth > 0 || starts_value(previous))) {
      // An anchor or a tag: the value starts after it, so what comes next still opens one.
      while (!cursor.done() && cursor.peek() != ' ' && cursor.peek() != '\t' &&
             cursor.peek() != '\n' && cursor.peek() != '[' && cursor.peek() != '{') {
        cursor.step();
      }
      continue;
    }
    if (!opens && (c == '[' || c == '{')) {
      previous = 'a';  // part of a plain scalar: what follows is too
      cursor.step();
      continue;
    }
    if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    } else if ((c == '"' || c == '\'') && (depth > 0 || starts_value(previous))) {
      skip_quoted(cursor);
      previous = c;
      continue;
    } else if (c == '#' && (previous == '\0' || previous == '\n' || cursor.at == 0 ||
                            text[cursor.at - 1] == ' ' || text[cursor.at - 1] == '\t')) {
      while (!cursor.done() && cursor.peek() != '\n') {
        cursor.step();
      }
      continue;
    }
    if (c != ' ' && c != '\t' && c != '\r') {
      previous = c;
    }
    cursor.step();
  }
  return std::nullopt;
}

std::optional<SpecError> check_device_count(const VmSpec& spec, const std::string& file,
                                            std::size_t max) {
  const auto& devices = spec.domain.devices;
  const std::size_t count = devices.disks.size() + devices.interfaces.size() +
                            devices.inputs.size() + spec.volumes.size() + spec.networks.size();
  if (count <= max) {
    return std::nullopt;
  }
  return SpecError{
      "spec.template.spec.domain.devices",
      fmt::format("declares {} devices ({} disks, {} interfaces, {} inputs, {} volumes, {} "
                  "networks); a VM may have at most {} in all",
                  count, devices.disks.size(), devices.interfaces.size(),
                  devices.inputs.size(), spec.volumes.size(), spec.networks.size(), max),
      file, Mark{}};
}

}  // namespace qmd::policy
