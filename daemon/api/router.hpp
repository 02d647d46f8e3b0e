#pragma once
// Method + path pattern -> handler. Patterns are literal segments and {param} segments:
// "/v1/vms/{name}/start". A path that matches no pattern is 404; a path that matches with
// another method is 405 with an Allow header.
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "daemon/api/http_types.hpp"

namespace qmd::daemon::api {

// What a method and a decoded path name in a route table.
struct RouteMatch {
  const Handler* handler = nullptr;           // the route's, or nullptr (404 or 405)
  std::map<std::string, std::string> params;  // {"name": "web1"} when handler is set
  std::vector<std::string> allowed;           // without a handler: the methods the path takes
};

class Router {
 public:
  void add(http::verb method, std::string pattern, Handler handler);
  // Pure: the first route whose method and pattern fit; runs nothing.
  RouteMatch match(http::verb method, std::string_view path) const;
  // Fills request.params and runs the matching handler, or answers 404/405.
  asio::awaitable<Response> dispatch(Request request) const;
  // Every route as added: (method, "/v1/vms/{name}/start").
  std::vector<std::pair<http::verb, std::string>> patterns() const;

 private:
  struct Route {
    http::verb method;
    std::string pattern;
    std::vector<std::string> segments;
    Handler handler;
  };
  std::vector<Route> routes_;
};

}  // namespace qmd::daemon::api
