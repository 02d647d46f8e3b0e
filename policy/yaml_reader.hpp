#pragma once
// A strict reader over yaml-cpp nodes. It keeps the document path of what it reads, records
// each field's position in the SourceMap, checks types, and reports every key that no reader
// asked for as an unknown field (with the nearest known name as a hint).
#include <yaml-cpp/yaml.h>

#include <concepts>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "policy/source_map.hpp"
#include "policy/spec_error.hpp"

namespace qmd::policy::yaml {

// yaml-cpp marks are 0-based; ours are 1-based.
Mark mark_of(const YAML::Node& node);

// Where the errors and positions of one document go.
class Document {
 public:
  Document(SourceMap& source, SpecErrors& errors) : source_(source), errors_(errors) {}

  void error(std::string path, Mark mark, std::string message);
  // Warnings go nowhere unless a sink is given.
  void set_warnings(SpecErrors& warnings) { warnings_ = &warnings; }
  void warn(std::string path, Mark mark, std::string message);
  void record(std::string path, Mark mark) { source_.record(std::move(path), mark); }
  const std::string& file() const { return source_.file(); }

 private:
  SourceMap& source_;
  SpecErrors& errors_;
  SpecErrors* warnings_ = nullptr;
};

// One mapping of the document. Reads return nothing when the key is absent; a wrong type is
// reported (at the value) and leaves `out` untouched. The destructor reports unknown keys, so
// a reader must live exactly as long as the code that reads its keys.
class MapReader {
 public:
  // `at` is used for errors about the mapping itself when `node` carries no position.
  MapReader(Document& doc, const YAML::Node& node, std::string path, Mark at);
  ~MapReader();
  MapReader(const MapReader&) = delete;
  MapReader& operator=(const MapReader&) = delete;

  const std::string& path() const { return path_; }
  std::string child_path(std::string_view key) const;
  Mark mark() const { return mark_; }
  Document& doc() { return doc_; }

  // Whether `key` is present; also makes `key` a known field here.
  bool has(std::string_view key);
  // The value of `key` (recording its position), or nothing when absent.
  std::optional<YAML::Node> take(std::string_view key);
  // The position of `key` itself, and of its value; {0,0} when absent.
  Mark key_mark(std::string_view key) const;
  Mark value_mark(std::string_view key) const;
  // Reports `message` about the value of `key`.
  void error_at(std::string_view key, std::string message);

  void read(std::string_view key, std::optional<std::string>& out);
  void read(std::string_view key, std::string& out);
  void read(std::string_view key, std::optional<bool>& out);
  template <std::integral T>
    requires(!std::same_as<T, bool>)
  void read(std::string_view key, std::optional<T>& out) {
    if (auto v = integer(key, std::numeric_limits<T>::min(), std::numeric_limits<T>::max())) {
      out = static_cast<T>(*v);
    }
  }
  // Kubernetes quantities, as strings or integers.
  void read_bytes(std::string_view key, std::optional<std::uint64_t>& out);
  void read_cpu(std::string_view key, std::optional<double>& out);
  // A mapping of strings to strings (labels, annotations).
  void read_string_map(std::string_view key, std::map<std::string, std::string>& out);

  // Runs `fn` on the nested mapping under `key`; null reads as `{}`. Returns presence.
  bool read_map(std::string_view key, const std::function<void(MapReader&)>& fn);
  // A `{}` marker such as `bios: {}` or `masquerade: {}`: present or not, nothing inside.
  bool read_marker(std::string_view key);
  // Runs `fn` on each mapping of the list under `key`; null reads as `[]`.
  void read_list(std::string_view key,
                 const std::function<void(MapReader&, std::size_t)>& fn);

  // Reports `key` as missing when absent.
  void require(std::string_view key);
  // Reports `key`, when present, with `message` (for fields that are known but refused).
  void reject(std::string_view key, std::string message);
  // Accepts `key`, whatever its value, with a warning `message` (fields with no effect here).
  void accept_ignored(std::string_view key, std::string_view message);
  // The index of the one key of `keys` that is present. Reports an error naming the
  // alternatives when several are present, or none and `required`.
  std::optional<std::size_t> one_of(std::initializer_list<std::string_view> keys,
                                    bool required = true);

 private:
  struct Entry {
    std::string key;
    YAML::Node key_node;
    YAML::Node value;
    bool used = false;
  };

  Entry* find(std::string_view key);
  const Entry* find(std::string_view key) const;
  // The scalar text under `key`, or an error that the value is not `expected`.
  std::optional<YAML::Node> scalar(std::string_view key, std::string_view expected);
  std::optional<std::int64_t> integer(std::string_view key, std::int64_t min, std::int64_t max);
  void report_unknown_keys();

  Document& doc_;
  std::string path_;
  Mark mark_;
  bool is_map_ = true;
  std::vector<Entry> entries_;
  std::vector<std::string> known_;
};

// The edit-distance-nearest of `candidates` to `word`, if within 2 edits.
std::optional<std::string> nearest(std::string_view word,
                                   const std::vector<std::string>& candidates);

// How a node reads in an error message: `"four"`, `a mapping`, `a list`, `null`.
std::string describe(const YAML::Node& node);

}  // namespace qmd::policy::yaml
