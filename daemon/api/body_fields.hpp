#pragma once
// Reads the fields of a JSON request body into a typed request: unknown fields are refused and
// each field is type-checked; the first problem is kept as a 400 naming the field. Messages
// never quote a value: a body may hold a password.
#include <boost/json/object.hpp>
#include <chrono>
#include <cstdint>
#include <expected>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/runtime/op_error.hpp"

namespace qmd::daemon::api {

class BodyFields {
 public:
  // The body as a JSON object whose members are all in `known`; an empty body reads as {}.
  static std::expected<BodyFields, OpError> parse(std::string_view body,
                                                  std::initializer_list<std::string_view> known);

  // Each reader returns a default once a problem is recorded; finish() reports the first one.
  // Absent or null: "\"KEY\" is required", or `missing` when given. Empty counts as absent.
  std::string required_string(std::string_view key, std::string_view missing = {});
  // Absent, null or "": nullopt (the default applies).
  std::optional<std::string> optional_string(std::string_view key);
  // Absent or null: false.
  bool boolean(std::string_view key);
  // A whole number of seconds in [1, max]; absent or null: `fallback`.
  std::chrono::seconds seconds(std::string_view key, std::int64_t fallback, std::int64_t max);
  // An array of strings; absent or null: none.
  std::vector<std::string> strings(std::string_view key);
  // For fields with their own syntax (a size, a count): nullptr when absent or null.
  const boost::json::value* raw(std::string_view key) const;
  // Records a problem found by the caller, unless one is recorded already.
  void fail(std::string message);

  template <typename T>
  std::expected<T, OpError> finish(T value) && {
    if (error_) {
      return std::unexpected(std::move(*error_));
    }
    return value;
  }

 private:
  explicit BodyFields(boost::json::object object) : object_(std::move(object)) {}

  boost::json::object object_;
  std::optional<OpError> error_;
};

}  // namespace qmd::daemon::api
