// libFuzzer target: any bytes a client may send qmd's API socket, as one HTTP request, through
// what the server does with them before a VM is involved: Beast's request parser under qmd's
// header limit and the body limit its route gets (body_limits), the request target's decoding
// (url), the route table's matching and its 404/405 answers (Router::dispatch over qmd's own
// table, fuzz_http_routes.hpp), and a JSON body read as fields (BodyFields). A VM spec body is
// fuzz_spec's. Checks: no crash, no sanitizer report, bounded memory, a body never longer than
// its limit, every route's params filled, and every answer is JSON a client can parse (valid
// UTF-8, whatever bytes the path held) with a message when it is an error.
//
//   scripts/fuzz.sh 60 fuzz_http_request
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json/parse.hpp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "daemon/api/body_fields.hpp"
#include "daemon/api/body_limits.hpp"
#include "daemon/api/http_server.hpp"
#include "daemon/api/router.hpp"
#include "daemon/api/url.hpp"
#include "tests/unit/daemon/fuzz_http_routes.hpp"

namespace {

namespace beast = boost::beast;
namespace json = boost::json;
using namespace qmd::daemon;
using namespace qmd::daemon::api;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_http_request: %s\n", what);
  std::abort();
}

// The body fields the JSON routes read, each read with every reader here (in its route a
// field has one type).
const std::initializer_list<std::string_view> kKnown = {
    "name", "path", "bus", "cache", "format", "readonly", "size", "count", "mac", "network",
    "binding", "tapName", "args", "user", "password", "crypted", "timeoutSeconds", "persist",
    "resume", "destination", "disks"};

Response read_fields(const Request& request) {
  auto fields = BodyFields::parse(request.body, kKnown);
  if (!fields) {
    return error_response(400, "BadRequest", fields.error().message);
  }
  for (const auto key : kKnown) {
    (void)fields->optional_string(key);
    (void)fields->boolean(key);
    (void)fields->seconds(key, 30, 3600);
    (void)fields->strings(key);
  }
  (void)fields->required_string("name");
  auto done = std::move(*fields).finish(0);
  if (!done) {
    return error_response(400, "BadRequest", done.error().message);
  }
  return json_response("{}");
}

// qmd's route table, each route answering with what its body's fields say.
const Router& api_router() {
  static const Router router = [] {
    Router built;
    for (const auto& route : qmd::test::kApiRoutes) {
      const bool spec = route.spec_body;
      const std::string pattern(route.pattern);
      built.add(route.method, pattern, [spec, pattern](Request request) -> asio::awaitable<Response> {
        for (const auto& [key, value] : request.params) {
          if (value.empty() || pattern.find("{" + key + "}") == std::string::npos) {
            fail("a route's param is empty or not in its pattern");
          }
        }
        co_return spec ? json_response("{}") : read_fields(request);
      });
    }
    return built;
  }();
  return router;
}

// The request as qmd's server reads it: header first under its limit, then the body under the
// limit of the route the request line names. nullopt: refused (413, 431, 400) or incomplete.
std::optional<http::request<http::string_body>> read_request(std::string_view bytes) {
  const ServerOptions options;
  http::request_parser<http::string_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(options.max_header_bytes));
  parser.body_limit(boost::none);
  std::size_t limit = 0;
  beast::error_code ec;
  while (!parser.is_done()) {
    const std::size_t used = parser.put(asio::buffer(bytes.data(), bytes.size()), ec);
    bytes.remove_prefix(used);
    if (ec || used == 0) {
      return std::nullopt;  // need_more: the server waits, then times out (408)
    }
    if (parser.is_header_done() && limit == 0) {
      const auto kind = body_kind(parser.get().method(), parser.get().target());
      limit = body_limit(options.body_limits, kind);
      parser.body_limit(limit);
      if (parser.content_length().value_or(0) > limit) {
        return std::nullopt;  // 413 before any of the body is read
      }
    }
  }
  if (parser.get().body().size() > limit) {
    fail("a body past its route's limit was read whole");
  }
  return parser.release();
}

void check_answer(const Response& response) {
  json::parse_options strict;  // what qmctl's parser takes: valid UTF-8 only
  beast::error_code ec;
  const auto body = json::parse(response.body, ec, {}, strict);
  if (ec || !body.is_object()) {
    std::fprintf(stderr, "body: %s\n", response.body.c_str());
    fail("an answer is not a JSON object a client can parse");
  }
  if (response.status >= 400) {
    const auto* error = body.as_object().if_contains("error");
    const auto* message = error != nullptr && error->is_object()
                              ? error->as_object().if_contains("message")
                              : nullptr;
    if (message == nullptr || !message->is_string() || message->as_string().empty()) {
      fail("an error answer without a message");
    }
  }
  if (response.status == 405 && response.headers.count("Allow") == 0) {
    fail("a 405 without Allow");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto message = read_request(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!message) {
    return 0;
  }
  auto target = parse_target(message->target());
  if (!target) {
    return 0;  // 400 "malformed request target"
  }
  Request request;
  request.method = message->method();
  request.path = std::move(target->path);
  request.query = std::move(target->query);
  request.body = std::move(message->body());

  asio::io_context ioc;
  std::optional<Response> answer;
  asio::co_spawn(ioc, api_router().dispatch(std::move(request)),
                 [&](std::exception_ptr error, Response response) {
                   if (error) {
                     std::rethrow_exception(error);
                   }
                   answer = std::move(response);
                 });
  ioc.run();
  if (!answer) {
    fail("dispatch did not answer");
  }
  check_answer(*answer);
  return 0;
}
