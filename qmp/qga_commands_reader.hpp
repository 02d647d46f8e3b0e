#pragma once
// Internal to the qga_commands*.cpp files: strict reading of agent replies. Unlike
// json_fields.hpp (absent or mistyped reads as absent), a FieldReader remembers the first
// required field that is missing and any field of the wrong type, so a helper reads every
// field it wants and then asks once whether the reply had the shape the protocol promises.
#include <fmt/format.h>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "qmp/error.hpp"
#include "qmp/guest_text.hpp"

namespace qmd::qmp::detail {

inline QmpError unexpected_reply(std::string_view command, const boost::json::value& reply) {
  return {QmpError::Kind::protocol, "",
          fmt::format("unexpected {} reply from the agent: {}", command,
                      json_excerpt(reply))};
}

class FieldReader {
 public:
  explicit FieldReader(const boost::json::object& o) : o_(o) {}

  bool ok() const { return ok_; }

  std::string string(std::string_view key) { return require(opt_string(key)); }
  std::optional<std::string> opt_string(std::string_view key) {
    const auto* v = field(key);
    if (v == nullptr) {
      return std::nullopt;
    }
    if (!v->is_string()) {
      return fail<std::string>();
    }
    return sanitize_guest_text(v->get_string());
  }

  std::int64_t integer(std::string_view key) { return require(opt_integer(key)); }
  std::optional<std::int64_t> opt_integer(std::string_view key) {
    const auto* v = field(key);
    if (v == nullptr) {
      return std::nullopt;
    }
    if (v->is_int64()) {
      return v->get_int64();
    }
    if (v->is_uint64() && v->get_uint64() <= std::numeric_limits<std::int64_t>::max()) {
      return static_cast<std::int64_t>(v->get_uint64());
    }
    return fail<std::int64_t>();
  }

  std::optional<std::uint64_t> opt_unsigned(std::string_view key) {
    const auto* v = field(key);
    if (v == nullptr) {
      return std::nullopt;
    }
    if (v->is_uint64()) {
      return v->get_uint64();
    }
    if (v->is_int64() && v->get_int64() >= 0) {
      return static_cast<std::uint64_t>(v->get_int64());
    }
    return fail<std::uint64_t>();
  }

  // A JSON number of any kind: the agent prints whole doubles without a fraction.
  double number(std::string_view key) {
    const auto* v = field(key);
    if (v == nullptr) {
      return require(std::optional<double>());
    }
    if (v->is_double()) {
      return v->get_double();
    }
    if (v->is_int64()) {
      return static_cast<double>(v->get_int64());
    }
    if (v->is_uint64()) {
      return static_cast<double>(v->get_uint64());
    }
    return fail<double>().value_or(0);
  }

  // The array (absent reads as empty) or the object at `key`; null on a mistyped field.
  const boost::json::array* opt_array(std::string_view key) {
    static const boost::json::array empty;
    const auto* v = field(key);
    if (v == nullptr) {
      return &empty;
    }
    if (!v->is_array()) {
      ok_ = false;
      return &empty;
    }
    return &v->get_array();
  }
  const boost::json::array& array(std::string_view key) {
    if (field(key) == nullptr) {
      ok_ = false;
    }
    return *opt_array(key);
  }
  const boost::json::object& object(std::string_view key) {
    static const boost::json::object empty;
    const auto* v = field(key);
    if (v == nullptr || !v->is_object()) {
      ok_ = false;
      return empty;
    }
    return v->get_object();
  }

 private:
  const boost::json::value* field(std::string_view key) const { return o_.if_contains(key); }
  template <typename T>
  std::optional<T> fail() {
    ok_ = false;
    return std::nullopt;
  }
  template <typename T>
  T require(std::optional<T> value) {
    if (!value) {
      ok_ = false;
      return T{};
    }
    return std::move(*value);
  }

  const boost::json::object& o_;
  bool ok_ = true;
};

// Reads every element of `items` (objects) with `read(FieldReader&)`; nullopt when an element
// is not an object or lacks what `read` requires.
template <typename T, typename Read>
std::optional<std::vector<T>> read_each(const boost::json::array& items, Read read) {
  std::vector<T> out;
  out.reserve(items.size());
  for (const auto& item : items) {
    if (!item.is_object()) {
      return std::nullopt;
    }
    FieldReader r(item.get_object());
    auto value = read(r);
    if (!value || !r.ok()) {
      return std::nullopt;
    }
    out.push_back(std::move(*value));
  }
  return out;
}

}  // namespace qmd::qmp::detail
