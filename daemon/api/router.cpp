// Route table: literal and {param} segments, 404 for an unknown path, 405 + Allow for a
// known path with another method.
#include "daemon/api/router.hpp"

#include <algorithm>
#include <utility>

namespace qmd::daemon::api {

namespace {

// "/v1/vms/web1" -> {"v1", "vms", "web1"}. Empty segments are kept ("/v1/vms/" has a
// trailing empty one) so that a trailing slash is a different path, not the same one.
std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> segments;
  if (!path.empty() && path.front() == '/') {
    path.remove_prefix(1);
  }
  while (true) {
    const auto slash = path.find('/');
    segments.emplace_back(path.substr(0, slash));
    if (slash == std::string_view::npos) {
      break;
    }
    path.remove_prefix(slash + 1);
  }
  return segments;
}

bool is_param(const std::string& segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

// Fills `params` when `segments` fit the route's pattern.
bool match(const std::vector<std::string>& pattern, const std::vector<std::string>& segments,
           std::map<std::string, std::string>& params) {
  if (pattern.size() != segments.size()) {
    return false;
  }
  std::map<std::string, std::string> found;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (is_param(pattern[i])) {
      if (segments[i].empty()) {
        return false;
      }
      found[pattern[i].substr(1, pattern[i].size() - 2)] = segments[i];
    } else if (pattern[i] != segments[i]) {
      return false;
    }
  }
  params = std::move(found);
  return true;
}

}  // namespace

void Router::add(http::verb method, std::string pattern, Handler handler) {
  routes_.push_back(Route{method, split_path(pattern), std::move(handler)});
}

asio::awaitable<Response> Router::dispatch(Request request) const {
  const auto segments = split_path(request.path);
  std::vector<std::string> allowed;
  for (const auto& route : routes_) {
    std::map<std::string, std::string> params;
    if (!match(route.segments, segments, params)) {
      continue;
    }
    if (route.method == request.method) {
      request.params = std::move(params);
      co_return co_await route.handler(std::move(request));
    }
    const std::string name{http::to_string(route.method)};
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      allowed.push_back(name);
    }
  }
  if (allowed.empty()) {
    co_return error_response(404, "NotFound", "no such resource: " + request.path);
  }
  std::string allow;
  for (const auto& name : allowed) {
    allow += (allow.empty() ? "" : ", ") + name;
  }
  auto response =
      error_response(405, "MethodNotAllowed",
                     std::string(http::to_string(request.method)) + " is not allowed on " +
                         request.path + " (allowed: " + allow + ")");
  response.headers["Allow"] = allow;
  co_return response;
}

}  // namespace qmd::daemon::api
