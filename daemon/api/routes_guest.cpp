// /v1/vms/{name}/guest[/exec|/ping|/password|/freeze|/thaw|/time]: the guest agent through qmd.
// Each POST body is parsed strictly (unknown fields are refused) into its request struct;
// the Vm does the rest. Error messages never quote a body: it may hold a password.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <algorithm>
#include <initializer_list>

#include "daemon/api/routes.hpp"

namespace qmd::daemon::api {

namespace json = boost::json;

namespace {

constexpr std::int64_t kDefaultExecSeconds = 30;
constexpr std::int64_t kMaxExecSeconds = 3600;
constexpr std::int64_t kDefaultAutoThawSeconds = 60;
constexpr std::int64_t kMaxAutoThawSeconds = 600;

struct ExecRequest {
  std::string path;
  std::vector<std::string> args;
  std::chrono::seconds timeout{kDefaultExecSeconds};
};

struct PasswordRequest {
  std::string user;
  std::string password;
  bool crypted = false;
};

struct FreezeRequest {
  std::chrono::seconds auto_thaw{kDefaultAutoThawSeconds};
};

using Parsed = std::expected<json::object, OpError>;

OpError bad_request(std::string message) {
  return op_error(OpError::Code::bad_request, std::move(message));
}

// The body as a JSON object whose members are all in `known`; an empty body is {}.
Parsed body_object(const Request& request, std::initializer_list<std::string_view> known) {
  if (request.body.find_first_not_of(" \t\r\n") == std::string::npos) {
    return json::object{};
  }
  boost::system::error_code ec;
  json::value value = json::parse(request.body, ec);
  if (ec || !value.is_object()) {
    return std::unexpected(bad_request(fmt::format(
        "the request body is not a JSON object{}", ec ? " (" + ec.message() + ")" : "")));
  }
  for (const auto& member : value.as_object()) {
    if (std::find(known.begin(), known.end(), member.key()) == known.end()) {
      return std::unexpected(bad_request(
          fmt::format("unknown field \"{}\" in the request body (known: {})",
                      std::string_view(member.key()), fmt::join(known, ", "))));
    }
  }
  return std::move(value.as_object());
}

std::expected<std::optional<std::string>, OpError> string_field(const json::object& body,
                                                                 std::string_view key) {
  const auto* v = body.if_contains(key);
  if (v == nullptr || v->is_null()) {
    return std::nullopt;
  }
  if (!v->is_string()) {
    return std::unexpected(bad_request(fmt::format("\"{}\" must be a string", key)));
  }
  return std::string(v->as_string());
}

std::expected<std::optional<bool>, OpError> bool_field(const json::object& body,
                                                       std::string_view key) {
  const auto* v = body.if_contains(key);
  if (v == nullptr || v->is_null()) {
    return std::nullopt;
  }
  if (!v->is_bool()) {
    return std::unexpected(bad_request(fmt::format("\"{}\" must be true or false", key)));
  }
  return v->as_bool();
}

// A whole number of seconds in [1, max], or `fallback` when absent.
std::expected<std::chrono::seconds, OpError> seconds_field(const json::object& body,
                                                           std::string_view key,
                                                           std::int64_t fallback,
                                                           std::int64_t max) {
  const auto* v = body.if_contains(key);
  if (v == nullptr || v->is_null()) {
    return std::chrono::seconds{fallback};
  }
  std::int64_t n = 0;
  if (v->is_int64()) {
    n = v->as_int64();
  } else if (v->is_uint64() && v->as_uint64() <= static_cast<std::uint64_t>(max)) {
    n = static_cast<std::int64_t>(v->as_uint64());
  } else {
    n = -1;
  }
  if (n < 1 || n > max) {
    return std::unexpected(
        bad_request(fmt::format("\"{}\" must be a whole number of seconds from 1 to {}", key, max)));
  }
  return std::chrono::seconds{n};
}

std::expected<ExecRequest, OpError> parse_exec(const Request& request) {
  auto body = body_object(request, {"path", "args", "timeoutSeconds"});
  if (!body) {
    return std::unexpected(body.error());
  }
  ExecRequest out;
  auto path = string_field(*body, "path");
  if (!path) {
    return std::unexpected(path.error());
  }
  if (!*path || (*path)->empty()) {
    return std::unexpected(bad_request("\"path\" (the program to run in the guest) is required"));
  }
  out.path = std::move(**path);
  if (const auto* args = body->if_contains("args"); args != nullptr && !args->is_null()) {
    if (!args->is_array()) {
      return std::unexpected(bad_request("\"args\" must be an array of strings"));
    }
    for (const auto& arg : args->as_array()) {
      if (!arg.is_string()) {
        return std::unexpected(bad_request("\"args\" must be an array of strings"));
      }
      out.args.emplace_back(arg.as_string());
    }
  }
  auto timeout = seconds_field(*body, "timeoutSeconds", kDefaultExecSeconds, kMaxExecSeconds);
  if (!timeout) {
    return std::unexpected(timeout.error());
  }
  out.timeout = *timeout;
  return out;
}

std::expected<PasswordRequest, OpError> parse_password(const Request& request) {
  auto body = body_object(request, {"user", "password", "crypted"});
  if (!body) {
    return std::unexpected(body.error());
  }
  PasswordRequest out;
  auto user = string_field(*body, "user");
  auto password = string_field(*body, "password");
  auto crypted = bool_field(*body, "crypted");
  if (!user || !password || !crypted) {
    return std::unexpected(!user       ? user.error()
                           : !password ? password.error()
                                       : crypted.error());
  }
  if (!*user || (*user)->empty()) {
    return std::unexpected(bad_request("\"user\" (the guest user) is required"));
  }
  if (!*password || (*password)->empty()) {
    return std::unexpected(bad_request("\"password\" is required and must not be empty"));
  }
  out.user = std::move(**user);
  out.password = std::move(**password);
  out.crypted = crypted->value_or(false);
  return out;
}

std::expected<FreezeRequest, OpError> parse_freeze(const Request& request) {
  auto body = body_object(request, {"timeoutSeconds"});
  if (!body) {
    return std::unexpected(body.error());
  }
  auto timeout =
      seconds_field(*body, "timeoutSeconds", kDefaultAutoThawSeconds, kMaxAutoThawSeconds);
  if (!timeout) {
    return std::unexpected(timeout.error());
  }
  return FreezeRequest{*timeout};
}

// A POST with no fields at all (ping, thaw, time): an empty body or {}.
std::optional<OpError> parse_empty(const Request& request) {
  if (auto body = body_object(request, {}); !body) {
    return body.error();
  }
  return std::nullopt;
}

Response ok(json::object body) { return json_response(json::serialize(body)); }

Response vm_missing(const std::string& name) {
  return error_response(404, "NotFound",
                        fmt::format("no VM named {} (qmctl list shows the VMs)", name));
}

using GuestHandler = asio::awaitable<Response> (*)(Vm&, const Request&);

asio::awaitable<Response> get_info(Vm& vm, const Request&) {
  auto info = co_await vm.guest_info();
  co_return info ? ok(std::move(*info)) : op_error_response(info.error());
}

asio::awaitable<Response> post_exec(Vm& vm, const Request& request) {
  auto parsed = parse_exec(request);
  if (!parsed) {
    co_return op_error_response(parsed.error());
  }
  auto result = co_await vm.guest_exec(parsed->path, parsed->args, parsed->timeout);
  co_return result ? ok(std::move(*result)) : op_error_response(result.error());
}

asio::awaitable<Response> post_ping(Vm& vm, const Request& request) {
  if (auto bad = parse_empty(request)) {
    co_return op_error_response(*bad);
  }
  if (auto done = co_await vm.guest_ping(); !done) {
    co_return op_error_response(done.error());
  }
  json::object body;
  body["ok"] = true;
  co_return ok(std::move(body));
}

asio::awaitable<Response> post_password(Vm& vm, const Request& request) {
  auto parsed = parse_password(request);
  if (!parsed) {
    co_return op_error_response(parsed.error());
  }
  auto done = co_await vm.guest_set_password(parsed->user, std::move(parsed->password),
                                             parsed->crypted);
  if (!done) {
    co_return op_error_response(done.error());
  }
  json::object body;
  body["user"] = parsed->user;
  co_return ok(std::move(body));
}

asio::awaitable<Response> post_freeze(Vm& vm, const Request& request) {
  auto parsed = parse_freeze(request);
  if (!parsed) {
    co_return op_error_response(parsed.error());
  }
  auto frozen = co_await vm.guest_freeze(parsed->auto_thaw);
  if (!frozen) {
    co_return op_error_response(frozen.error());
  }
  json::object body;
  body["frozen"] = *frozen;
  body["autoThawSeconds"] = parsed->auto_thaw.count();
  co_return ok(std::move(body));
}

asio::awaitable<Response> post_thaw(Vm& vm, const Request& request) {
  if (auto bad = parse_empty(request)) {
    co_return op_error_response(*bad);
  }
  auto thawed = co_await vm.guest_thaw("on request");
  if (!thawed) {
    co_return op_error_response(thawed.error());
  }
  json::object body;
  body["thawed"] = *thawed;
  co_return ok(std::move(body));
}

asio::awaitable<Response> post_time(Vm& vm, const Request& request) {
  if (auto bad = parse_empty(request)) {
    co_return op_error_response(*bad);
  }
  if (auto done = co_await vm.guest_sync_time(); !done) {
    co_return op_error_response(done.error());
  }
  json::object body;
  body["synced"] = true;
  co_return ok(std::move(body));
}

}  // namespace

void add_guest_routes(Router& router, Registry& registry) {
  static constexpr struct {
    http::verb verb;
    const char* path;
    GuestHandler handler;
  } kRoutes[] = {
      {http::verb::get, "/v1/vms/{name}/guest", &get_info},
      {http::verb::post, "/v1/vms/{name}/guest/exec", &post_exec},
      {http::verb::post, "/v1/vms/{name}/guest/ping", &post_ping},
      {http::verb::post, "/v1/vms/{name}/guest/password", &post_password},
      {http::verb::post, "/v1/vms/{name}/guest/freeze", &post_freeze},
      {http::verb::post, "/v1/vms/{name}/guest/thaw", &post_thaw},
      {http::verb::post, "/v1/vms/{name}/guest/time", &post_time},
  };
  for (const auto& route : kRoutes) {
    router.add(route.verb, route.path,
               [&registry, handler = route.handler](Request request) -> asio::awaitable<Response> {
                 // Held for the whole request: a VM deleted meanwhile stays valid until then.
                 auto vm = registry.find(request.param("name"));
                 if (!vm) {
                   co_return vm_missing(request.param("name"));
                 }
                 co_return co_await handler(*vm, request);
               });
  }
}

}  // namespace qmd::daemon::api
