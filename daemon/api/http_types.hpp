#pragma once
// What the HTTP server hands to the routes and what they give back. The server owns the
// transport (Beast over a Unix socket, limits, peer credentials); routes own the meaning.
#include <sys/types.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/http/verb.hpp>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace qmd::daemon::api {

namespace asio = boost::asio;
namespace http = boost::beast::http;

struct PeerCred {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
};

struct Request {
  http::verb method = http::verb::get;
  std::string path;                          // "/v1/vms/web1/start", percent-decoded
  std::map<std::string, std::string> query;  // "?grace=30&follow=true"
  std::string content_type;                  // "application/yaml", "application/json", ""
  std::string body;
  bool wants_upgrade = false;                // "Connection: Upgrade" + "Upgrade: ..." sent
  PeerCred peer;
  // Path parameters filled by the router: {"name": "web1"}.
  std::map<std::string, std::string> params;

  std::string param(const std::string& key) const;
  std::optional<std::string> query_value(const std::string& key) const;
};

// A stream route (events, console) takes the socket after the server wrote the status line and
// the headers; it writes (and reads) raw bytes until it is done, then the connection closes.
using StreamFn = std::function<asio::awaitable<void>(asio::local::stream_protocol::socket&)>;

struct Response {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::map<std::string, std::string> headers;  // extra ones (e.g. "Upgrade")
  StreamFn stream;  // set: headers only (no Content-Length, Connection: close), then stream
};

// The API's error shape: {"error":{"code":"NotFound","message":"..."}} with `status`.
Response error_response(unsigned status, std::string_view code, std::string_view message);
// A JSON body (already serialized) with `status`.
Response json_response(std::string body, unsigned status = 200);

using Handler = std::function<asio::awaitable<Response>(Request)>;

}  // namespace qmd::daemon::api
