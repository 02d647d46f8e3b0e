// /v1/vms/{name}/disks, /interfaces, /cpus, /memory, /balloon: live device changes. Each body
// is read into the typed request the Vm takes (BodyFields: unknown fields refused); the Vm decides
// what the running VM allows.
#include <fmt/format.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <expected>

#include "daemon/api/body_fields.hpp"
#include "daemon/api/routes.hpp"
#include "daemon/api/vm_json.hpp"
#include "policy/host_units.hpp"

namespace qmd::daemon::api {

namespace {

namespace json = boost::json;

// "1536Mi", "1Gi" or a number of bytes.
std::uint64_t size(BodyFields& body) {
  const auto* v = body.raw("size");
  if (v == nullptr) {
    body.fail("\"size\" is required (e.g. \"1536Mi\")");
    return 0;
  }
  if (v->is_uint64() || (v->is_int64() && v->as_int64() >= 0)) {
    return v->is_uint64() ? v->as_uint64() : static_cast<std::uint64_t>(v->as_int64());
  }
  if (v->is_string()) {
    if (auto bytes = policy::parse_binary_quantity(std::string(v->as_string()))) {
      return *bytes;
    }
  }
  body.fail(fmt::format("size {} is not a size like \"1536Mi\" or \"2Gi\"", json::serialize(*v)));
  return 0;
}

std::expected<Vm::DiskAttach, OpError> parse_post_disk(const Request& request) {
  auto body = BodyFields::parse(request.body,
                                {"name", "path", "bus", "readonly", "cache", "format", "persist"});
  if (!body) {
    return std::unexpected(body.error());
  }
  Vm::DiskAttach out;
  out.name = body->required_string("name");
  out.path = body->required_string("path");
  out.bus = body->optional_string("bus").value_or(out.bus);
  out.cache = body->optional_string("cache");
  out.format = body->optional_string("format");
  out.readonly = body->boolean("readonly");
  out.persist = body->boolean("persist");
  return std::move(*body).finish(std::move(out));
}

std::expected<Vm::InterfaceAttach, OpError> parse_post_interface(const Request& request) {
  auto body =
      BodyFields::parse(request.body, {"name", "binding", "network", "tapName", "mac", "persist"});
  if (!body) {
    return std::unexpected(body.error());
  }
  Vm::InterfaceAttach out;
  out.name = body->required_string("name");
  out.binding = body->optional_string("binding").value_or(out.binding);
  out.network = body->optional_string("network").value_or("");
  out.tap_name = body->optional_string("tapName").value_or("");
  out.mac = body->optional_string("mac").value_or("");
  out.persist = body->boolean("persist");
  return std::move(*body).finish(std::move(out));
}

// PUT cpus and memory: the new value, and whether it goes into the definition too.
template <typename T>
struct Resize {
  T value{};
  bool persist = false;
};

std::expected<Resize<std::uint32_t>, OpError> parse_put_cpus(const Request& request) {
  auto body = BodyFields::parse(request.body, {"count", "persist"});
  if (!body) {
    return std::unexpected(body.error());
  }
  const auto* count = body->raw("count");
  std::uint32_t n = 0;
  if (count == nullptr || !(count->is_int64() || count->is_uint64())) {
    body->fail("\"count\" (a number of vCPUs) is required");
  } else {
    boost::system::error_code ec;
    n = count->to_number<std::uint32_t>(ec);
    if (ec) {
      body->fail("\"count\" must be a positive number of vCPUs");
    }
  }
  const bool persist = body->boolean("persist");
  return std::move(*body).finish(Resize<std::uint32_t>{n, persist});
}

// The balloon target is no part of a definition: only memory takes "persist".
std::expected<Resize<std::uint64_t>, OpError> parse_put_size(const Request& request,
                                                             bool persistable) {
  auto body = persistable ? BodyFields::parse(request.body, {"size", "persist"})
                          : BodyFields::parse(request.body, {"size"});
  if (!body) {
    return std::unexpected(body.error());
  }
  const std::uint64_t bytes = size(*body);
  const bool persist = persistable && body->boolean("persist");
  return std::move(*body).finish(Resize<std::uint64_t>{bytes, persist});
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

}  // namespace

// A table of routes, one short lambda each, read top to bottom like the API page; long as a
// whole only because the table is, so it stays one function.
void add_hotplug_routes(Router& router, Registry& registry) {
  router.add(http::verb::post, "/v1/vms/{name}/disks",
             [&registry](Request request) -> asio::awaitable<Response> {
               VmPtr vm = registry.find(request.param("name"));
               if (!vm) {
                 co_return vm_not_found(request.param("name"));
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
                 co_return vm_not_found(request.param("name"));
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
                 co_return vm_not_found(request.param("name"));
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
                 co_return vm_not_found(request.param("name"));
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
                 co_return vm_not_found(request.param("name"));
               }
               auto count = parse_put_cpus(request);
               if (!count) {
                 co_return op_error_response(count.error());
               }
               auto done = co_await vm->set_cpus(count->value, count->persist);
               if (!done) {
                 co_return op_error_response(done.error());
               }
               co_return json_response(json::serialize(to_json(vm->name(), *done)));
             });

  router.add(http::verb::put, "/v1/vms/{name}/memory",
             [&registry](Request request) -> asio::awaitable<Response> {
               VmPtr vm = registry.find(request.param("name"));
               if (!vm) {
                 co_return vm_not_found(request.param("name"));
               }
               auto bytes = parse_put_size(request, true);
               if (!bytes) {
                 co_return op_error_response(bytes.error());
               }
               if (auto done = co_await vm->set_memory(bytes->value, bytes->persist); !done) {
                 co_return op_error_response(done.error());
               }
               co_return done_response(vm->name(), "memory",
                                       policy::format_binary_quantity(bytes->value));
             });

  router.add(http::verb::put, "/v1/vms/{name}/balloon",
             [&registry](Request request) -> asio::awaitable<Response> {
               VmPtr vm = registry.find(request.param("name"));
               if (!vm) {
                 co_return vm_not_found(request.param("name"));
               }
               auto bytes = parse_put_size(request, false);
               if (!bytes) {
                 co_return op_error_response(bytes.error());
               }
               if (auto done = co_await vm->set_balloon(bytes->value); !done) {
                 co_return op_error_response(done.error());
               }
               co_return done_response(vm->name(), "balloon",
                                       policy::format_binary_quantity(bytes->value));
             });
}

}  // namespace qmd::daemon::api
