#include "daemon/api/op_error_response.hpp"

#include <fmt/format.h>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace qmd::daemon::api {

namespace json = boost::json;

namespace {

// Every error of a refused spec, each at its field: what `qmctl validate` prints, as data.
json::array spec_errors_json(const policy::SpecErrors& errors) {
  json::array out;
  for (const auto& e : errors) {
    out.push_back(json::object{{"field", e.path},
                               {"line", e.mark.line},
                               {"column", e.mark.column},
                               {"message", e.message}});
  }
  return out;
}

}  // namespace

Response op_error_response(const OpError& error) {
  // The one table from the runtime's error codes to HTTP: no route picks a status itself.
  static constexpr struct {
    OpError::Code code;
    unsigned status;
    const char* name;
  } kMap[] = {{OpError::Code::bad_request, 400, "BadRequest"},
              {OpError::Code::bad_spec, 400, "BadSpec"},
              {OpError::Code::not_found, 404, "NotFound"},
              {OpError::Code::conflict, 409, "Conflict"},
              {OpError::Code::forbidden, 403, "Forbidden"},
              {OpError::Code::timeout, 504, "Timeout"},
              {OpError::Code::failed, 500, "Internal"},
              {OpError::Code::unavailable, 502, "Unavailable"},
              {OpError::Code::busy, 503, "Unavailable"}};
  unsigned status = 500;
  const char* name = "Internal";
  for (const auto& entry : kMap) {
    if (entry.code == error.code) {
      status = entry.status;
      name = entry.name;
    }
  }
  json::object inner;
  inner["code"] = name;
  inner["message"] = error.message;
  if (!error.spec_errors.empty()) {
    json::array details;
    for (const auto& spec_error : error.spec_errors) {
      json::object detail;
      detail["path"] = spec_error.path;
      detail["message"] = spec_error.message;
      detail["line"] = spec_error.mark.line;
      detail["column"] = spec_error.mark.column;
      details.push_back(std::move(detail));
    }
    inner["details"] = std::move(details);
  }
  json::object body;
  body["error"] = std::move(inner);
  if (!error.spec_errors.empty()) {
    body["errors"] = spec_errors_json(error.spec_errors);
  }
  return json_response(json::serialize(body), status);
}

Response vm_not_found(std::string_view name) {
  return op_error_response(op_error(
      OpError::Code::not_found, fmt::format("no VM named {} (qmctl list shows the VMs)", name)));
}

}  // namespace qmd::daemon::api
