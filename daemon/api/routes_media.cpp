// A running VM's disks changed in place: PUT/DELETE /v1/vms/{name}/disks/{disk}/medium (the
// disc in a cdrom drive) and PUT .../disks/{disk}/size (online growth). The Vm decides what
// the running VM allows.
#include <fmt/format.h>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "daemon/api/body_fields.hpp"
#include "daemon/api/routes.hpp"
#include "policy/host_units.hpp"

namespace qmd::daemon::api {

namespace {

bool flag(const Request& request, const std::string& key) {
  const auto value = request.query_value(key);
  return value && (*value == "true" || *value == "1" || value->empty());
}

struct MediumRequest {
  std::string path;
  bool persist = false;
};

std::expected<MediumRequest, OpError> parse_put_medium(const Request& request) {
  auto body = BodyFields::parse(request.body, {"path", "persist"});
  if (!body) {
    return std::unexpected(body.error());
  }
  MediumRequest out;
  out.path = body->required_string("path", "\"path\" (the image to insert) is required");
  out.persist = body->boolean("persist");
  return std::move(*body).finish(std::move(out));
}

Response medium_response(const std::string& vm, const std::string& disk,
                         const std::optional<std::string>& path) {
  return json_response(
      path ? fmt::format("{{\"name\":\"{}\",\"disk\":\"{}\",\"inserted\":{}}}", vm, disk,
                         boost::json::serialize(boost::json::value(*path)))
           : fmt::format("{{\"name\":\"{}\",\"disk\":\"{}\",\"ejected\":true}}", vm, disk));
}

struct SizeRequest {
  std::uint64_t bytes = 0;
  bool persist = false;
};

std::expected<SizeRequest, OpError> parse_put_disk_size(const Request& request) {
  auto body = BodyFields::parse(request.body, {"size", "persist"});
  if (!body) {
    return std::unexpected(body.error());
  }
  SizeRequest out;
  const auto* size = body->raw("size");
  if (size == nullptr) {
    body->fail("\"size\" is required (e.g. \"20Gi\")");
  } else if (size->is_int64() && size->as_int64() > 0) {
    out.bytes = static_cast<std::uint64_t>(size->as_int64());
  } else if (size->is_string()) {
    if (auto bytes = policy::parse_binary_quantity(std::string(size->as_string()))) {
      out.bytes = *bytes;
    } else {
      body->fail("\"size\" is not a size like \"20Gi\" or \"512Mi\"");
    }
  } else {
    body->fail("\"size\" is a size like \"20Gi\" or a number of bytes");
  }
  out.persist = body->boolean("persist");
  return std::move(*body).finish(out);
}

}  // namespace

void add_media_routes(Router& router, Registry& registry) {
  router.add(http::verb::put, "/v1/vms/{name}/disks/{disk}/medium",
             [&registry](Request request) -> asio::awaitable<Response> {
               auto vm = registry.find(request.param("name"));
               if (!vm) {
                 co_return vm_not_found(request.param("name"));
               }
               auto parsed = parse_put_medium(request);
               if (!parsed) {
                 co_return op_error_response(parsed.error());
               }
               const std::string disk = request.param("disk");
               const std::optional<std::string> path = parsed->path;
               auto done = co_await vm->change_medium(disk, path, parsed->persist);
               if (!done) {
                 co_return op_error_response(done.error());
               }
               co_return medium_response(vm->name(), disk, path);
             });

  router.add(http::verb::delete_, "/v1/vms/{name}/disks/{disk}/medium",
             [&registry](Request request) -> asio::awaitable<Response> {
               auto vm = registry.find(request.param("name"));
               if (!vm) {
                 co_return vm_not_found(request.param("name"));
               }
               const std::string disk = request.param("disk");
               auto done = co_await vm->change_medium(disk, std::nullopt, flag(request, "persist"));
               if (!done) {
                 co_return op_error_response(done.error());
               }
               co_return medium_response(vm->name(), disk, std::nullopt);
             });

  router.add(http::verb::put, "/v1/vms/{name}/disks/{disk}/size",
             [&registry](Request request) -> asio::awaitable<Response> {
               auto vm = registry.find(request.param("name"));
               if (!vm) {
                 co_return vm_not_found(request.param("name"));
               }
               auto parsed = parse_put_disk_size(request);
               if (!parsed) {
                 co_return op_error_response(parsed.error());
               }
               const std::string disk = request.param("disk");
               auto done = co_await vm->resize_disk(disk, parsed->bytes, parsed->persist);
               if (!done) {
                 co_return op_error_response(done.error());
               }
               co_return json_response(
                   fmt::format("{{\"name\":\"{}\",\"disk\":\"{}\",\"size\":\"{}\"}}", vm->name(),
                               disk, policy::format_binary_quantity(parsed->bytes)));
             });
}

}  // namespace qmd::daemon::api
