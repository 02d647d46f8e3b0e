// MapReader: the structure of a mapping (keys, nesting, lists, alternatives, unknown keys).
// Scalar fields are read in yaml_reader_scalars.cpp.
#include "policy/yaml_reader.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace qmd::policy::yaml {

namespace {

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) {
    row[j] = j;
  }
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + cost});
      diagonal = above;
    }
  }
  return row[b.size()];
}

}  // namespace

Mark mark_of(const YAML::Node& node) {
  const auto m = node.Mark();
  if (m.line < 0 || m.column < 0) {
    return {};
  }
  return {m.line + 1, m.column + 1};
}

std::optional<std::string> nearest(std::string_view word,
                                   const std::vector<std::string>& candidates) {
  std::optional<std::string> best;
  std::size_t best_distance = 3;
  for (const auto& c : candidates) {
    const auto d = edit_distance(word, c);
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  return best;
}

void Document::error(std::string path, Mark mark, std::string message) {
  errors_.push_back(SpecError{std::move(path), std::move(message), source_.file(), mark});
}

void Document::warn(std::string path, Mark mark, std::string message) {
  if (warnings_ != nullptr) {
    warnings_->push_back(SpecError{std::move(path), std::move(message), source_.file(), mark});
  }
}

MapReader::MapReader(Document& doc, const YAML::Node& node, std::string path, Mark at)
    : doc_(doc), path_(std::move(path)), mark_(at) {
  if (node.IsNull()) {
    return;  // `key:` with nothing after it reads as an empty mapping
  }
  if (const auto m = mark_of(node); m.line > 0) {
    mark_ = m;
  }
  if (!node.IsMap()) {
    is_map_ = false;
    doc_.error(path_, mark_, fmt::format("expected a mapping, got {}", describe(node)));
    return;
  }
  for (const auto& pair : node) {
    const YAML::Node key = pair.first;
    if (!key.IsScalar()) {
      doc_.error(path_, mark_of(key), "mapping keys must be plain strings");
      continue;
    }
    if (const Entry* first = find(key.Scalar())) {
      doc_.error(child_path(key.Scalar()), mark_of(key),
                 fmt::format("duplicate key \"{}\" (first at line {}); keep one", key.Scalar(),
                             mark_of(first->key_node).line));
      continue;
    }
    entries_.push_back(Entry{key.Scalar(), key, pair.second});
  }
}

MapReader::~MapReader() {
  if (is_map_) {
    report_unknown_keys();
  }
}

void MapReader::report_unknown_keys() {
  for (const auto& e : entries_) {
    if (e.used || std::ranges::find(known_, e.key) != known_.end()) {
      continue;
    }
    std::string message = fmt::format("unknown field \"{}\"", e.key);
    if (auto hint = nearest(e.key, known_)) {
      message += fmt::format(" (did you mean \"{}\"?)", *hint);
    } else if (!known_.empty()) {
      message += fmt::format("; known fields here: {}", fmt::join(known_, ", "));
    }
    doc_.error(child_path(e.key), mark_of(e.key_node), std::move(message));
  }
}

std::string MapReader::child_path(std::string_view key) const {
  return path_.empty() ? std::string(key) : fmt::format("{}.{}", path_, key);
}

MapReader::Entry* MapReader::find(std::string_view key) {
  auto it = std::ranges::find(entries_, key, &Entry::key);
  return it == entries_.end() ? nullptr : &*it;
}

const MapReader::Entry* MapReader::find(std::string_view key) const {
  auto it = std::ranges::find(entries_, key, &Entry::key);
  return it == entries_.end() ? nullptr : &*it;
}

bool MapReader::has(std::string_view key) {
  if (std::ranges::find(known_, key) == known_.end()) {
    known_.emplace_back(key);
  }
  return find(key) != nullptr;
}

std::optional<YAML::Node> MapReader::take(std::string_view key) {
  if (!has(key)) {
    return std::nullopt;
  }
  Entry* e = find(key);
  e->used = true;
  doc_.record(child_path(key), mark_of(e->key_node));
  return e->value;
}

Mark MapReader::key_mark(std::string_view key) const {
  const Entry* e = find(key);
  return e == nullptr ? Mark{} : mark_of(e->key_node);
}

Mark MapReader::value_mark(std::string_view key) const {
  const Entry* e = find(key);
  if (e == nullptr) {
    return {};
  }
  // yaml-cpp places an empty (null) value at the next token; the key is the better spot.
  const Mark m = mark_of(e->value);
  return e->value.IsNull() || m.line == 0 ? mark_of(e->key_node) : m;
}

void MapReader::error_at(std::string_view key, std::string message) {
  doc_.error(child_path(key), value_mark(key), std::move(message));
}

bool MapReader::read_map(std::string_view key, const std::function<void(MapReader&)>& fn) {
  auto value = take(key);
  if (!value) {
    return false;
  }
  MapReader nested(doc_, *value, child_path(key), key_mark(key));
  fn(nested);
  return true;
}

bool MapReader::read_marker(std::string_view key) {
  return read_map(key, [](MapReader&) {});
}

void MapReader::read_list(std::string_view key,
                          const std::function<void(MapReader&, std::size_t)>& fn) {
  auto value = take(key);
  if (!value || value->IsNull()) {
    return;
  }
  if (!value->IsSequence()) {
    doc_.error(child_path(key), value_mark(key),
               fmt::format("expected a list, got {}", describe(*value)));
    return;
  }
  for (std::size_t i = 0; i < value->size(); ++i) {
    const YAML::Node item = (*value)[i];
    const std::string item_path = fmt::format("{}[{}]", child_path(key), i);
    const Mark at = mark_of(item).line > 0 ? mark_of(item) : key_mark(key);
    doc_.record(item_path, at);
    MapReader reader(doc_, item, item_path, at);
    fn(reader, i);
  }
}

void MapReader::require(std::string_view key) {
  if (is_map_ && !has(key)) {
    doc_.error(child_path(key), mark_, fmt::format("missing required field \"{}\"", key));
  }
}

void MapReader::reject(std::string_view key, std::string message) {
  if (has(key)) {
    find(key)->used = true;
    doc_.error(child_path(key), key_mark(key), std::move(message));
  }
}

void MapReader::accept_ignored(std::string_view key, std::string_view message) {
  if (take(key)) {
    doc_.warn(child_path(key), key_mark(key), std::string(message));
  }
}

std::optional<std::size_t> MapReader::one_of(std::initializer_list<std::string_view> keys,
                                             bool required) {
  std::optional<std::size_t> found;
  std::size_t index = 0;
  for (auto key : keys) {
    if (has(key)) {
      if (found) {
        doc_.error(child_path(key), key_mark(key),
                   fmt::format("\"{}\" and \"{}\" cannot both be set: set exactly one of {}",
                               *(keys.begin() + *found), key, fmt::join(keys, ", ")));
        return std::nullopt;
      }
      found = index;
    }
    ++index;
  }
  if (!found && required && is_map_) {
    doc_.error(path_, mark_, fmt::format("set exactly one of {}", fmt::join(keys, ", ")));
  }
  return found;
}

}  // namespace qmd::policy::yaml
