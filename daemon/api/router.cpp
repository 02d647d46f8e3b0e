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
bool fits(const std::vector<std::string>& pattern, const std::vector<std::string>& segments,
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
  auto segments = split_path(pattern);
  routes_.push_back(Route{method, std::move(pattern), std::move(segments), std::move(handler)});
}

RouteMatch Router::match(http::verb method, std::string_view path) const {
  const auto segments = split_path(path);
  RouteMatch found;
  for (const auto& route : routes_) {
    std::map<std::string, std::string> params;
    if (!fits(route.segments, segments, params)) {
      continue;
    }
    if (route.method == method) {
      found.handler = &route.handler;
      found.params = std::move(params);
      found.allowed.clear();
      return found;
    }
    const std::string name{http::to_string(route.method)};
    if (std::find(found.allowed.begin(), found.allowed.end(), name) == found.allowed.end()) {
      found.allowed.push_back(name);
    }
  }
  return found;
}

std::vector<std::pair<http::verb, std::string>> Router::patterns() const {
  std::vector<std::pair<http::verb, std::string>> out;
  for (const auto& route : routes_) {
    out.emplace_back(route.method, route.pattern);
  }
  return out;
}

asio::awaitable<Response> Router::dispatch(Request request) const {
  auto found = match(request.method, request.path);
  if (found.handler != nullptr) {
    request.params = std::move(found.params);
    co_return co_await (*found.handler)(std::move(request));
  }
  const auto& allowed = found.allowed;
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
