// /v1/vms/{name}/disks, /interfaces, /cpus, /memory, /balloon: live device changes. Each body
// is parsed into the typed request the Vm takes (unknown fields refused); the Vm decides
// what the running VM allows.
#include <fmt/format.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <expected>
#include <set>

#include "daemon/api/routes.hpp"
#include "policy/host_units.hpp"

namespace qmd::daemon::api {

namespace {

namespace json = boost::json;

using Parsed = std::expected<json::object, OpError>;

OpError bad(std::string message) {
  return op_error(OpError::Code::bad_request, std::move(message));
}

// The body as a JSON object with only `allowed` keys.
Parsed body_object(const Request& request, const std::set<std::string>& allowed) {
  boost::system::error_code ec;
  const auto value = json::parse(request.body, ec);
  if (ec || !value.is_object()) {
    return std::unexpected(bad("the body must be a JSON object"));
  }
  for (const auto& [key, _] : value.as_object()) {
    if (!allowed.contains(std::string(key))) {
      std::string known;
      for (const auto& name : allowed) {
        known += (known.empty() ? "" : ", ") + name;
      }
      return std::unexpected(
          bad(fmt::format("unknown field \"{}\" (known: {})", std::string(key), known)));
    }
  }
  return value.as_object();
}

std::expected<std::string, OpError> text(const json::object& body, const char* key,
                                         bool required) {
  const auto* v = body.if_contains(key);
  if (v == nullptr) {
    if (required) {
      return std::unexpected(bad(fmt::format("\"{}\" is required", key)));
    }
    return std::string{};
  }
  if (!v->is_string()) {
    return std::unexpected(bad(fmt::format("\"{}\" must be a string", key)));
  }
  return std::string(v->as_string());
}

std::expected<bool, OpError> boolean(const json::object& body, const char* key) {
  const auto* v = body.if_contains(key);
  if (v == nullptr) {
    return false;
  }
  if (!v->is_bool()) {
    return std::unexpected(bad(fmt::format("\"{}\" must be true or false", key)));
  }
  return v->as_bool();
}

// "1536Mi", "1Gi" or a number of bytes.
std::expected<std::uint64_t, OpError> size(const json::object& body) {
  const auto* v = body.if_contains("size");
  if (v == nullptr) {
    return std::unexpected(bad("\"size\" is required (e.g. \"1536Mi\")"));
  }
  if (v->is_uint64() || (v->is_int64() && v->as_int64() >= 0)) {
    return v->is_uint64() ? v->as_uint64() : static_cast<std::uint64_t>(v->as_int64());
  }
  if (v->is_string()) {
    if (auto bytes = policy::parse_binary_quantity(std::string(v->as_string()))) {
      return *bytes;
    }
  }
  return std::unexpected(
      bad(fmt::format("size {} is not a size like \"1536Mi\" or \"2Gi\"", json::serialize(*v))));
}

std::expected<Vm::DiskAttach, OpError> parse_post_disk(const Request& request) {
  auto body = body_object(request,
                          {"name", "path", "bus", "readonly", "cache", "format", "persist"});
  if (!body) {
    return std::unexpected(body.error());
  }
  Vm::DiskAttach out;
  auto name = text(*body, "name", true);
  auto path = text(*body, "path", true);
  auto bus = text(*body, "bus", false);
  auto cache = text(*body, "cache", false);
  auto format = text(*body, "format", false);
  auto readonly = boolean(*body, "readonly");
  auto persist = boolean(*body, "persist");
  for (const auto* failed : {&name, &path, &bus, &cache, &format}) {
    if (!*failed) {
      return std::unexpected(failed->error());
    }
  }
  for (const auto* failed : {&readonly, &persist}) {
    if (!*failed) {
      return std::unexpected(failed->error());
    }
  }
  out.name = *name;
  out.path = *path;
  if (!bus->empty()) {
    out.bus = *bus;
  }
  if (!cache->empty()) {
    out.cache = *cache;
  }
  if (!format->empty()) {
    out.format = *format;
  }
  out.readonly = *readonly;
  out.persist = *persist;
  return out;
}

std::expected<Vm::InterfaceAttach, OpError> parse_post_interface(const Request& request) {
  auto body = body_object(request, {"name", "binding", "network", "tapName", "mac", "persist"});
  if (!body) {
    return std::unexpected(body.error());
  }
  Vm::InterfaceAttach out;
  auto name = text(*body, "name", true);
  auto binding = text(*body, "binding", false);
  auto network = text(*body, "network", false);
  auto tap = text(*body, "tapName", false);
  auto mac = text(*body, "mac", false);
  auto persist = boolean(*body, "persist");
  for (const auto* failed : {&name, &binding, &network, &tap, &mac}) {
    if (!*failed) {
      return std::unexpected(failed->error());
    }
  }
  if (!persist) {
    return std::unexpected(persist.error());
  }
  out.name = *name;
  if (!binding->empty()) {
    out.binding = *binding;
  }
  out.network = *network;
  out.tap_name = *tap;
  out.mac = *mac;
  out.persist = *persist;
  return out;
}

std::expected<std::uint32_t, OpError> parse_put_cpus(const Request& request) {
  auto body = body_object(request, {"count"});
  if (!body) {
    return std::unexpected(body.error());
  }
  const auto* count = body->if_contains("count");
  if (count == nullptr || !(count->is_int64() || count->is_uint64())) {
    return std::unexpected(bad("\"count\" (a number of vCPUs) is required"));
  }
  boost::system::error_code ec;
  const auto n = count->to_number<std::uint32_t>(ec);
  if (ec) {
    return std::unexpected(bad("\"count\" must be a positive number of vCPUs"));
  }
  return n;
}

std::expected<std::uint64_t, OpError> parse_put_size(const Request& request) {
  auto body = body_object(request, {"size"});
  if (!body) {
    return std::unexpected(body.error());
  }
  return size(*body);
}

bool flag(const Request& request, const std::string& key) {
  const auto value = request.query_value(key);
  return value && (*value == "true" || *value == "1" || value->empty());
}

Response done_response(const std::string& vm, std::string_view what, const std::string& which) {
  json::object body;
  body["name"] = vm;
  body[what] = which;
  return json_response(json::serialize(body));
}

using VmPtr = std::shared_ptr<Vm>;

Response no_vm(const std::string& name) {
  return error_response(404, "NotFound",
                        fmt::format("no VM named {} (qmctl list shows the VMs)", name));
}

}  // namespace

void add_hotplug_routes(Router& router, Registry& registry) {
  router.add(http::verb::post, "/v1/vms/{name}/disks",
             [&registry](Request request) -> asio::awaitable<Response> {
               VmPtr vm = registry.find(request.param("name"));
               if (!vm) {
                 co_return no_vm(request.param("name"));
               }
               auto parsed = parse_post_disk(request);
               if (!parsed) {
                 co_return op_error_response(parsed.error());
               }
               const std::string disk = parsed->name;
               if (auto done = co_await vm->attach_disk(std::move(*parsed)); !done) {
                 co_return op_error_response(done.error());
               }
               co_return done_response(vm->name(), "attached", disk);
             });

  router.add(http::verb::delete_, "/v1/vms/{name}/disks/{disk}",
             [&registry](Request request) -> asio::awaitable<Response> {
               VmPtr vm = registry.find(request.param("name"));
               if (!vm) {
                 co_return no_vm(request.param("name"));
               }
               const std::string disk = request.param("disk");
               if (auto done = co_await vm->detach_disk(disk, flag(request, "persist")); !done) {
                 co_return op_error_response(done.error());
               }
               co_return done_response(vm->name(), "detached", disk);
             });

  router.add(http::verb::post, "/v1/vms/{name}/interfaces",
             [&registry](Request request) -> asio::awaitable<Response> {
               VmPtr vm = registry.find(request.param("name"));
               if (!vm) {
                 co_return no_vm(request.param("name"));
               }
               auto parsed = parse_post_interface(request);
               if (!parsed) {
                 co_return op_error_response(parsed.error());
               }
               const std::string iface = parsed->name;
               if (auto done = co_await vm->attach_interface(std::move(*parsed)); !done) {
                 co_return op_error_response(done.error());
               }
               co_return done_response(vm->name(), "attached", iface);
             });

  router.add(http::verb::delete_, "/v1/vms/{name}/interfaces/{iface}",
             [&registry](Request request) -> asio::awaitable<Response> {
               VmPtr vm = registry.find(request.param("name"));
               if (!vm) {
                 co_return no_vm(request.param("name"));
               }
               const std::string iface = request.param("iface");
               if (auto done = co_await vm->detach_interface(iface, flag(request, "persist"));
                   !done) {
                 co_return op_error_response(done.error());
               }
               co_return done_response(vm->name(), "detached", iface);
             });

  router.add(http::verb::put, "/v1/vms/{name}/cpus",
             [&registry](Request request) -> asio::awaitable<Response> {
               VmPtr vm = registry.find(request.param("name"));
               if (!vm) {
                 co_return no_vm(request.param("name"));
               }
               auto count = parse_put_cpus(request);
               if (!count) {
                 co_return op_error_response(count.error());
               }
               auto done = co_await vm->set_cpus(*count);
               if (!done) {
                 co_return op_error_response(done.error());
               }
               json::object body = std::move(*done);
               body["name"] = vm->name();
               co_return json_response(json::serialize(body));
             });

  router.add(http::verb::put, "/v1/vms/{name}/memory",
             [&registry](Request request) -> asio::awaitable<Response> {
               VmPtr vm = registry.find(request.param("name"));
               if (!vm) {
                 co_return no_vm(request.param("name"));
               }
               auto bytes = parse_put_size(request);
               if (!bytes) {
                 co_return op_error_response(bytes.error());
               }
               if (auto done = co_await vm->set_memory(*bytes); !done) {
                 co_return op_error_response(done.error());
               }
               co_return done_response(vm->name(), "memory",
                                       policy::format_binary_quantity(*bytes));
             });

  router.add(http::verb::put, "/v1/vms/{name}/balloon",
             [&registry](Request request) -> asio::awaitable<Response> {
               VmPtr vm = registry.find(request.param("name"));
               if (!vm) {
                 co_return no_vm(request.param("name"));
               }
               auto bytes = parse_put_size(request);
               if (!bytes) {
                 co_return op_error_response(bytes.error());
               }
               if (auto done = co_await vm->set_balloon(*bytes); !done) {
                 co_return op_error_response(done.error());
               }
               co_return done_response(vm->name(), "balloon",
                                       policy::format_binary_quantity(*bytes));
             });
}

}  // namespace qmd::daemon::api
