// Live migration and the operations that follow it:
//   POST   /v1/vms/{name}/migrate                 source: start, 202 + the operation
//   POST   /v1/migrations/incoming                destination: get ready, 201 + {name, uri}
//   GET    /v1/migrations/incoming/{name}         destination: QEMU's side of the transfer
//   POST   /v1/migrations/incoming/{name}/commit  destination: take the VM over
//   DELETE /v1/migrations/incoming/{name}         destination: drop it
//   GET    /v1/operations[/{id}], DELETE /v1/operations/{id} (cancel)
#include <fmt/format.h>
#include <unistd.h>

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

#include "daemon/api/body_fields.hpp"
#include "daemon/api/routes.hpp"
#include "daemon/api/operation_json.hpp"
#include "daemon/api/vm_json.hpp"
#include "daemon/migration/peer_protocol.hpp"
#include "policy/parse.hpp"

namespace qmd::daemon::api {

namespace json = boost::json;

namespace {

// The qmd-to-qmd routes make VMs, and files for them, from what the caller sends: for another
// qmd only (root, or the user this qmd runs as), never for a member of the API group.
std::optional<Response> not_for_group(const Request& request) {
  const uid_t self = ::geteuid();
  if (request.peer.uid == 0 || request.peer.uid == self) {
    return std::nullopt;
  }
  return op_error_response(op_error(
      OpError::Code::forbidden,
      fmt::format("{} is for another qmd (root or uid {}, this qmd's user), not for members of "
                  "the API group (you are uid {}): it makes VMs and files from what the caller "
                  "sends. To move a VM here, run qmctl migrate on the source host",
                  request.path, self, request.peer.uid)));
}

Response operation_response(const Operation& op, unsigned status = 200) {
  return json_response(json::serialize(to_json(op)), status);
}

// A count in [0, max] from a JSON number.
std::uint32_t count_field(BodyFields& fields, std::string_view key, std::uint32_t fallback,
                          std::uint32_t max, std::uint32_t min = 0) {
  const auto* value = fields.raw(key);
  if (value == nullptr) {
    return fallback;
  }
  if (!value->is_int64() || value->as_int64() < min || value->as_int64() > max) {
    fields.fail(fmt::format("\"{}\" must be a whole number from {} to {}", key, min, max));
    return fallback;
  }
  return static_cast<std::uint32_t>(value->as_int64());
}

// Bytes per second as a number, or a quantity ("1Gi", "500Mi"); 0 means unlimited.
std::uint64_t bandwidth_field(BodyFields& fields, const char* key, std::uint64_t fallback) {
  const auto* value = fields.raw(key);
  if (value == nullptr) {
    return fallback;
  }
  if (value->is_int64() && value->as_int64() >= 0) {
    return static_cast<std::uint64_t>(value->as_int64());
  }
  if (value->is_string()) {
    auto bytes = policy::parse_bytes(std::string(value->as_string()));
    if (bytes) {
      return *bytes;
    }
    fields.fail(fmt::format("\"{}\": {} (bytes per second, e.g. 1Gi)", key, bytes.error()));
    return fallback;
  }
  fields.fail(fmt::format("\"{}\" must be bytes per second: a number or a quantity (1Gi)", key));
  return fallback;
}

std::expected<Vm::MigrateOptions, OpError> migrate_options(const Request& request) {
  auto fields = BodyFields::parse(
      request.body, {"destination", "maxBandwidth", "downtimeLimitMs", "maxDowntimeMs",
                     "autoConverge", "postcopy", "postcopyBandwidth", "multifdChannels",
                     "copyStorage", "timeoutSeconds", "transport", "storagePaths"});
  if (!fields) {
    return std::unexpected(fields.error());
  }
  Vm::MigrateOptions options;
  options.destination = fields->required_string(
      "destination", "\"destination\" is required: the destination qmd's API socket");
  options.max_bandwidth = bandwidth_field(*fields, "maxBandwidth", 0);
  // A cap given for the migration holds after a switch to postcopy too, unless said apart.
  options.postcopy_bandwidth = bandwidth_field(*fields, "postcopyBandwidth", options.max_bandwidth);
  // 0 would tell QEMU to send all that is left in one unbounded pause: at least 1 ms.
  options.downtime_limit_ms = count_field(*fields, "downtimeLimitMs", 300, 60000, 1);
  options.max_downtime_ms = count_field(
      *fields, "maxDowntimeMs", std::max<std::uint32_t>(2000, options.downtime_limit_ms), 60000);
  options.auto_converge = fields->boolean("autoConverge");
  options.postcopy = fields->boolean("postcopy");
  options.multifd_channels = count_field(*fields, "multifdChannels", 0, 64);
  options.timeout = fields->seconds("timeoutSeconds", 600, 86400);
  options.transport = fields->optional_string("transport").value_or("auto");
  if (options.transport != "auto" && options.transport != "unix" && options.transport != "tcp") {
    fields->fail("\"transport\" must be auto (unix on the same host, else tcp), unix or tcp");
  }
  options.copy_storage = fields->boolean("copyStorage");
  if (const auto* paths = fields->raw("storagePaths")) {
    // {"/source/path": "/destination/path"}: where the destination puts copied disks.
    if (!paths->is_object()) {
      fields->fail("\"storagePaths\" must map source paths to destination paths");
    } else {
      for (const auto& [from, to] : paths->as_object()) {
        if (!to.is_string() || to.as_string().empty() || to.as_string().front() != '/') {
          fields->fail(fmt::format("\"storagePaths\": \"{}\" must map to an absolute path",
                                   std::string_view(from)));
        } else {
          options.storage_paths.emplace(std::string(from), std::string(to.as_string()));
        }
      }
    }
  }
  if (options.max_downtime_ms < options.downtime_limit_ms) {
    fields->fail("\"maxDowntimeMs\" must not be below \"downtimeLimitMs\"");
  }
  return std::move(*fields).finish(std::move(options));
}

// The peer protocol's one parser; what it refuses is a 400 naming the field.
std::expected<Registry::IncomingRequest, OpError> incoming_request(const Request& request) {
  auto parsed = migration::parse_incoming_request(request.body);
  if (!parsed) {
    return std::unexpected(op_error(OpError::Code::bad_request, parsed.error().message));
  }
  return std::move(*parsed);
}

}  // namespace

// A table of routes, one short lambda each, read top to bottom like the API page; long as a
// whole only because the table is, so it stays one function.
void add_migration_routes(Router& router, Registry& registry, Operations& operations) {
  router.add(http::verb::post, "/v1/vms/{name}/migrate",
             [&registry, &operations](Request request) -> asio::awaitable<Response> {
               auto vm = registry.find(request.param("name"));
               if (!vm) {
                 co_return vm_not_found(request.param("name"));
               }
               auto options = migrate_options(request);
               if (!options) {
                 co_return op_error_response(options.error());
               }
               auto op = co_await vm->migrate(std::move(*options), operations);
               if (!op) {
                 co_return op_error_response(op.error());
               }
               co_return operation_response(**op, 202);
             });

  router.add(http::verb::post, "/v1/migrations/incoming",
             [&registry](Request request) -> asio::awaitable<Response> {
               if (auto refused = not_for_group(request)) {
                 co_return *refused;
               }
               auto in = incoming_request(request);
               if (!in) {
                 co_return op_error_response(in.error());
               }
               auto ready = co_await registry.incoming(std::move(*in));
               if (!ready) {
                 co_return op_error_response(ready.error());
               }
               co_return json_response(migration::to_body(*ready), 201);
             });

  // The per-VM incoming routes are root's and qmd's own; commit and abort act only on a VM
  // that is arriving. The error is the response to send.
  auto incoming_target = [&registry](
                             const Request& request,
                             bool arriving_only) -> std::expected<std::shared_ptr<Vm>, Response> {
    if (auto refused = not_for_group(request)) {
      return std::unexpected(std::move(*refused));
    }
    auto vm = registry.find(request.param("name"));
    if (!vm || (arriving_only && !vm->is_incoming())) {
      return std::unexpected(op_error_response(op_error(
          OpError::Code::not_found,
          fmt::format("no incoming migration of a VM named {} here", request.param("name")))));
    }
    return vm;
  };
  router.add(http::verb::get, "/v1/migrations/incoming/{name}",
             [incoming_target](Request request) -> asio::awaitable<Response> {
               auto vm = incoming_target(request, false);
               if (!vm) {
                 co_return vm.error();
               }
               auto status = co_await (*vm)->incoming_status();
               if (!status) {
                 co_return op_error_response(status.error());
               }
               co_return json_response(migration::to_body(*status));
             });
  router.add(
      http::verb::post, "/v1/migrations/incoming/{name}/commit",
      [incoming_target](Request request) -> asio::awaitable<Response> {
        auto vm = incoming_target(request, true);
        if (!vm) {
          co_return vm.error();
        }
        auto commit = migration::parse_commit_request(request.body);
        if (!commit) {
          co_return op_error_response(op_error(OpError::Code::bad_request, commit.error().message));
        }
        if (auto done = co_await (*vm)->commit_incoming(commit->resume); !done) {
          co_return op_error_response(done.error());
        }
        co_return json_response(json::serialize(to_json((*vm)->details())));
      });
  router.add(http::verb::delete_, "/v1/migrations/incoming/{name}",
             [incoming_target](Request request) -> asio::awaitable<Response> {
               auto vm = incoming_target(request, true);
               if (!vm) {
                 co_return vm.error();
               }
               if (auto done = co_await (*vm)->abort_incoming("the source gave up"); !done) {
                 co_return op_error_response(done.error());
               }
               co_return Response{204, "application/json", "", {}, nullptr};
             });

  router.add(http::verb::get, "/v1/operations",
             [&operations](Request) -> asio::awaitable<Response> {
               json::array list;
               for (const auto& op : operations.all()) {
                 list.push_back(to_json(*op));
               }
               json::object body;
               body["operations"] = std::move(list);
               co_return json_response(json::serialize(body));
             });
  router.add(
      http::verb::get, "/v1/operations/{id}",
      [&operations](Request request) -> asio::awaitable<Response> {
        auto op = operations.find(request.param("id"));
        if (!op) {
          co_return op_error_response(op_error(
              OpError::Code::not_found, fmt::format("no operation {} (qmctl operations lists "
                                                    "them)",
                                                    request.param("id"))));
        }
        co_return operation_response(*op);
      });
  router.add(
      http::verb::delete_, "/v1/operations/{id}",
      [&operations](Request request) -> asio::awaitable<Response> {
        auto op = operations.find(request.param("id"));
        if (!op) {
          co_return op_error_response(op_error(
              OpError::Code::not_found, fmt::format("no operation {}", request.param("id"))));
        }
        if (auto cancelled = operations.cancel(*op); !cancelled) {
          co_return op_error_response(op_error(OpError::Code::conflict, cancelled.error()));
        }
        co_return operation_response(*op, 202);
      });
}

}  // namespace qmd::daemon::api
