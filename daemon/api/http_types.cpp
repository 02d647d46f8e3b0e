// The small pieces of the request/response model the routes share.
#include "daemon/api/http_types.hpp"

#include <boost/json.hpp>

namespace qmd::daemon::api {

std::string Request::param(const std::string& key) const {
  const auto it = params.find(key);
  return it == params.end() ? std::string{} : it->second;
}

std::optional<std::string> Request::query_value(const std::string& key) const {
  const auto it = query.find(key);
  if (it == query.end()) {
    return std::nullopt;
  }
  return it->second;
}

Response error_response(unsigned status, std::string_view code, std::string_view message) {
  boost::json::object error;
  error["code"] = code;
  error["message"] = message;
  boost::json::object body;
  body["error"] = std::move(error);
  return json_response(boost::json::serialize(body), status);
}

Response json_response(std::string body, unsigned status) {
  Response response;
  response.status = status;
  response.content_type = "application/json";
  response.body = std::move(body);
  return response;
}

}  // namespace qmd::daemon::api
