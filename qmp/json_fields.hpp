#pragma once
// Tolerant readers for fields of QMP/QGA reply objects: a missing field or one of another type
// reads as absent, so callers decide what is required.
#include <cstdint>
#include <optional>
#include <string_view>

#include <boost/json/object.hpp>
#include <boost/json/string.hpp>

namespace qmd::qmp {

inline const boost::json::string* string_at(const boost::json::object& o,
                                            std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr ? v->if_string() : nullptr;
}

inline std::optional<std::int64_t> int_at(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v != nullptr && v->is_int64()) {
    return v->get_int64();
  }
  if (v != nullptr && v->is_uint64()) {
    return static_cast<std::int64_t>(v->get_uint64());
  }
  return std::nullopt;
}

inline bool bool_at(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_bool() && v->get_bool();
}

}  // namespace qmd::qmp
