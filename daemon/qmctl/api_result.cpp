#include "daemon/qmctl/api_result.hpp"

#include <boost/json/parse.hpp>
#include <iostream>

#include "daemon/config.hpp"
#include "daemon/qmctl/api_output.hpp"

namespace qmd::qmctl {

ApiClient client_for(const GlobalFlags& globals, ApiTimeouts timeouts) {
  return ApiClient(globals.socket.empty() ? daemon::default_socket_path() : globals.socket,
                   timeouts);
}

int fail(const std::string& message) {
  std::cerr << "qmctl: " << message << "\n";
  return 1;
}

int finish(const GlobalFlags& globals, const std::expected<ApiResponse, std::string>& response,
           const std::function<void(const boost::json::value&)>& human) {
  if (!response) {
    return fail(response.error());
  }
  if (response->status / 100 != 2) {
    return fail(error_message(*response));
  }
  boost::system::error_code ec;
  const auto value = boost::json::parse(response->body, ec);
  if (ec) {
    std::cout << response->body;  // not JSON: print what came
    return 0;
  }
  if (globals.output == "json") {
    std::cout << pretty_json(value);
  } else {
    human(value);
  }
  return 0;
}

int finish(const GlobalFlags& globals, const std::expected<ApiResponse, std::string>& response,
           const std::string& human) {
  if (!response) {
    return fail(response.error());
  }
  if (response->status / 100 != 2) {
    return fail(error_message(*response));
  }
  if (globals.output == "json") {
    boost::system::error_code ec;
    const auto value = boost::json::parse(response->body, ec);
    std::cout << (ec ? response->body + "\n" : pretty_json(value));
  } else {
    std::cout << human << "\n";
  }
  return 0;
}

}  // namespace qmd::qmctl
