#include "daemon/api/body_fields.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <boost/json/parse.hpp>

namespace qmd::daemon::api {

namespace json = boost::json;

std::expected<BodyFields, OpError> BodyFields::parse(
    std::string_view body, std::initializer_list<std::string_view> known) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return BodyFields(json::object{});
  }
  boost::system::error_code ec;
  json::value value = json::parse(body, ec);
  if (ec || !value.is_object()) {
    return std::unexpected(
        op_error(OpError::Code::bad_request, fmt::format("the request body is not a JSON object{}",
                                                         ec ? " (" + ec.message() + ")" : "")));
  }
  for (const auto& member : value.as_object()) {
    if (std::find(known.begin(), known.end(), member.key()) == known.end()) {
      return std::unexpected(
          op_error(OpError::Code::bad_request,
                   fmt::format("unknown field \"{}\" in the request body (known: {})",
                               std::string_view(member.key()), fmt::join(known, ", "))));
    }
  }
  return BodyFields(std::move(value.as_object()));
}

const json::value* BodyFields::raw(std::string_view key) const {
  const auto* v = object_.if_contains(key);
  return v == nullptr || v->is_null() ? nullptr : v;
}

void BodyFields::fail(std::string message) {
  if (!error_) {
    error_ = op_error(OpError::Code::bad_request, std::move(message));
  }
}

std::optional<std::string> BodyFields::optional_string(std::string_view key) {
  const auto* v = raw(key);
  if (v == nullptr) {
    return std::nullopt;
  }
  if (!v->is_string()) {
    fail(fmt::format("\"{}\" must be a string", key));
    return std::nullopt;
  }
  if (v->as_string().empty()) {
    return std::nullopt;
  }
  return std::string(v->as_string());
}

std::string BodyFields::required_string(std::string_view key, std::string_view missing) {
  const bool had_error = error_.has_value();
  auto value = optional_string(key);
  if (!value && error_.has_value() == had_error) {
    fail(missing.empty() ? fmt::format("\"{}\" is required", key) : std::string(missing));
  }
  return value.value_or("");
}

bool BodyFields::boolean(std::string_view key) {
  const auto* v = raw(key);
  if (v == nullptr) {
    return false;
  }
  if (!v->is_bool()) {
    fail(fmt::format("\"{}\" must be true or false", key));
    return false;
  }
  return v->as_bool();
}

std::chrono::seconds BodyFields::seconds(std::string_view key, std::int64_t fallback,
                                         std::int64_t max) {
  const auto* v = raw(key);
  if (v == nullptr) {
    return std::chrono::seconds{fallback};
  }
  std::int64_t n = -1;
  if (v->is_int64()) {
    n = v->as_int64();
  } else if (v->is_uint64() && v->as_uint64() <= static_cast<std::uint64_t>(max)) {
    n = static_cast<std::int64_t>(v->as_uint64());
  }
  if (n < 1 || n > max) {
    fail(fmt::format("\"{}\" must be a whole number of seconds from 1 to {}", key, max));
    return std::chrono::seconds{fallback};
  }
  return std::chrono::seconds{n};
}

std::vector<std::string> BodyFields::strings(std::string_view key) {
  const auto* v = raw(key);
  std::vector<std::string> out;
  if (v == nullptr) {
    return out;
  }
  const auto wrong = [&] {
    fail(fmt::format("\"{}\" must be an array of strings", key));
    return std::vector<std::string>{};
  };
  if (!v->is_array()) {
    return wrong();
  }
  for (const auto& item : v->as_array()) {
    if (!item.is_string()) {
      return wrong();
    }
    out.emplace_back(item.as_string());
  }
  return out;
}

}  // namespace qmd::daemon::api
