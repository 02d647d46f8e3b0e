#pragma once
// Method + path pattern -> handler. Patterns are literal segments and {param} segments:
// "/v1/vms/{name}/start". A path that matches no pattern is 404; a path that matches with
// another method is 405 with an Allow header.
#include <string>
#include <vector>

#include "daemon/api/http_types.hpp"

namespace qmd::daemon::api {

class Router {
 public:
  void add(http::verb method, std::string pattern, Handler handler);
  // Fills request.params and runs the matching handler, or answers 404/405.
  asio::awaitable<Response> dispatch(Request request) const;

 private:
  struct Route {
    http::verb method;
    std::vector<std::string> segments;
    Handler handler;
  };
  std::vector<Route> routes_;
};

}  // namespace qmd::daemon::api
