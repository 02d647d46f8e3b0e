// /v1/vms/{name}/guest[/exec|/ping|/password|/freeze|/thaw|/time]: the guest agent through qmd.
// Each POST body is read strictly (BodyFields: unknown fields refused) into its request struct;
// the Vm does the rest. Error messages never quote a body: it may hold a password.
#include <fmt/format.h>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>

#include "daemon/api/body_fields.hpp"
#include "daemon/api/guest_json.hpp"
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

std::expected<ExecRequest, OpError> parse_exec(const Request& request) {
  auto body = BodyFields::parse(request.body, {"path", "args", "timeoutSeconds"});
  if (!body) {
    return std::unexpected(body.error());
  }
  ExecRequest out;
  out.path =
      body->required_string("path", "\"path\" (the program to run in the guest) is required");
  out.args = body->strings("args");
  out.timeout = body->seconds("timeoutSeconds", kDefaultExecSeconds, kMaxExecSeconds);
  return std::move(*body).finish(std::move(out));
}

std::expected<PasswordRequest, OpError> parse_password(const Request& request) {
  auto body = BodyFields::parse(request.body, {"user", "password", "crypted"});
  if (!body) {
    return std::unexpected(body.error());
  }
  PasswordRequest out;
  out.user = body->required_string("user", "\"user\" (the guest user) is required");
  out.password =
      body->required_string("password", "\"password\" is required and must not be empty");
  out.crypted = body->boolean("crypted");
  return std::move(*body).finish(std::move(out));
}

std::expected<FreezeRequest, OpError> parse_freeze(const Request& request) {
  auto body = BodyFields::parse(request.body, {"timeoutSeconds"});
  if (!body) {
    return std::unexpected(body.error());
  }
  const auto auto_thaw =
      body->seconds("timeoutSeconds", kDefaultAutoThawSeconds, kMaxAutoThawSeconds);
  return std::move(*body).finish(FreezeRequest{auto_thaw});
}

// A POST with no fields at all (ping, thaw, time): an empty body or {}.
std::optional<OpError> parse_empty(const Request& request) {
  if (auto body = BodyFields::parse(request.body, {}); !body) {
    return body.error();
  }
  return std::nullopt;
}

Response ok(json::object body) { return json_response(json::serialize(body)); }

using GuestHandler = asio::awaitable<Response> (*)(Vm&, const Request&);

asio::awaitable<Response> get_info(Vm& vm, const Request&) {
  auto info = co_await vm.guest_info();
  co_return info ? ok(to_json(*info)) : op_error_response(info.error());
}

asio::awaitable<Response> post_exec(Vm& vm, const Request& request) {
  auto parsed = parse_exec(request);
  if (!parsed) {
    co_return op_error_response(parsed.error());
  }
  auto result = co_await vm.guest_exec(parsed->path, parsed->args, parsed->timeout);
  co_return result ? ok(to_json(*result)) : op_error_response(result.error());
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
  auto done =
      co_await vm.guest_set_password(parsed->user, std::move(parsed->password), parsed->crypted);
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
                   co_return vm_not_found(request.param("name"));
                 }
                 co_return co_await handler(*vm, request);
               });
  }
}

}  // namespace qmd::daemon::api
