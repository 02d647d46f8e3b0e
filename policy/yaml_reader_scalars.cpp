// MapReader's scalar fields: strings, booleans, integers and quantities, strictly typed.
#include <fmt/format.h>

#include <charconv>

#include "policy/parse.hpp"
#include "policy/yaml_reader.hpp"

namespace qmd::policy::yaml {

namespace {

// yaml-cpp tags plain (unquoted) scalars "?" and quoted ones "!".
bool is_plain(const YAML::Node& node) { return node.Tag() == "?"; }

// Decimal or 0x-hex, with an optional '-'; nothing else (no '+', no spaces, no underscores).
std::optional<std::int64_t> parse_int(std::string_view text) {
  const bool negative = text.starts_with('-');
  if (negative) {
    text.remove_prefix(1);
  }
  int base = 10;
  if (text.starts_with("0x") || text.starts_with("0X")) {
    base = 16;
    text.remove_prefix(2);
  }
  std::uint64_t magnitude = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), magnitude, base);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) {
    return std::nullopt;
  }
  constexpr auto max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  if (magnitude > max + (negative ? 1 : 0)) {
    return std::nullopt;
  }
  if (negative) {
    return magnitude == max + 1 ? std::numeric_limits<std::int64_t>::min()
                                : -static_cast<std::int64_t>(magnitude);
  }
  return static_cast<std::int64_t>(magnitude);
}

// Digits that did not fit, as opposed to something that is no integer at all.
bool looks_numeric(std::string_view text) {
  if (text.starts_with('-')) {
    text.remove_prefix(1);
  }
  const bool hex = text.starts_with("0x") || text.starts_with("0X");
  if (hex) {
    text.remove_prefix(2);
  }
  return !text.empty() && text.find_first_not_of(hex ? "0123456789abcdefABCDEF" : "0123456789") ==
                              std::string_view::npos;
}

}  // namespace

std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return fmt::format("\"{}\"", node.Scalar());
    default:
      return "null";
  }
}

std::optional<YAML::Node> MapReader::scalar(std::string_view key, std::string_view expected) {
  auto value = take(key);
  if (!value) {
    return std::nullopt;
  }
  if (!value->IsScalar()) {
    doc_.error(child_path(key), value_mark(key),
               fmt::format("expected {}, got {}", expected, describe(*value)));
    return std::nullopt;
  }
  return value;
}

void MapReader::read(std::string_view key, std::optional<std::string>& out) {
  if (auto v = scalar(key, "a string")) {
    out = v->Scalar();
  }
}

void MapReader::read(std::string_view key, std::string& out) {
  if (auto v = scalar(key, "a string")) {
    out = v->Scalar();
  }
}

void MapReader::read(std::string_view key, std::optional<bool>& out) {
  auto v = scalar(key, "true or false");
  if (!v) {
    return;
  }
  const std::string& text = v->Scalar();
  if (is_plain(*v) && (text == "true" || text == "false")) {
    out = text == "true";
    return;
  }
  const char* hint = is_plain(*v) ? "" : " (a quoted string; remove the quotes)";
  doc_.error(child_path(key), mark_of(*v),
             fmt::format("expected true or false, got \"{}\"{}", text, hint));
}

std::optional<std::int64_t> MapReader::integer(std::string_view key, std::int64_t min,
                                               std::int64_t max) {
  auto v = scalar(key, "an integer");
  if (!v) {
    return std::nullopt;
  }
  const std::string& text = v->Scalar();
  const auto value = is_plain(*v) ? parse_int(text) : std::nullopt;
  if (value && *value >= min && *value <= max) {
    return value;
  }
  std::string message;
  if (!is_plain(*v)) {
    message = fmt::format("expected an integer, got \"{}\" (a quoted string; remove the quotes)",
                          text);
  } else if (value || looks_numeric(text)) {
    message = fmt::format("expected an integer from {} to {}, got {}", min, max, text);
  } else {
    message = fmt::format("expected an integer, got \"{}\"", text);
  }
  doc_.error(child_path(key), mark_of(*v), std::move(message));
  return std::nullopt;
}

void MapReader::read_bytes(std::string_view key, std::optional<std::uint64_t>& out) {
  if (auto v = scalar(key, "a byte quantity such as 8Gi")) {
    if (auto bytes = parse_bytes(v->Scalar())) {
      out = *bytes;
    } else {
      doc_.error(child_path(key), mark_of(*v), bytes.error());
    }
  }
}

void MapReader::read_cpu(std::string_view key, std::optional<double>& out) {
  if (auto v = scalar(key, "a CPU quantity such as 2 or 500m")) {
    if (auto cpus = parse_cpu_quantity(v->Scalar())) {
      out = *cpus;
    } else {
      doc_.error(child_path(key), mark_of(*v), cpus.error());
    }
  }
}

void MapReader::read_string_map(std::string_view key, std::map<std::string, std::string>& out) {
  auto value = take(key);
  if (!value) {
    return;
  }
  MapReader entries(doc_, *value, child_path(key), key_mark(key));
  for (auto& e : entries.entries_) {
    std::optional<std::string> text;
    entries.read(e.key, text);
    if (text) {
      out[e.key] = *text;
    }
  }
}

}  // namespace qmd::policy::yaml
