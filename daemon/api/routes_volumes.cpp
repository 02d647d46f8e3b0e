// /v1/volumes (claims) and /v1/images (the container disk image store). The registry says which
// VMs use a claim or an image (deletes are refused while a defined VM does; a resize while a
// VM using the claim runs); the file work (qemu-img, tar, copies) runs on the blocking pool.
#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <atomic>
#include <boost/json/serialize.hpp>

#include "daemon/api/body_fields.hpp"
#include "daemon/api/routes.hpp"
#include "daemon/async/blocking.hpp"
#include "daemon/runtime/volume_sources.hpp"
#include "daemon/storage/claim_ops.hpp"
#include "daemon/storage/image_import.hpp"
#include "daemon/storage/image_size.hpp"
#include "policy/claims.hpp"
#include "policy/host_units.hpp"

namespace qmd::daemon::api {

namespace {

namespace json = boost::json;
using Code = OpError::Code;

struct Users {
  std::vector<std::string> all;     // defined VMs whose spec names it
  std::vector<std::string> active;  // those not stopped
};

template <typename Uses>
Users users_of(const Registry& registry, Uses uses) {
  Users out;
  for (const auto& vm : registry.all()) {
    auto spec = vm->definition();
    if (spec && uses(*spec)) {
      out.all.push_back(vm->name());
      if (vm->state() != VmState::stopped && vm->state() != VmState::crashed &&
          vm->state() != VmState::migrated) {
        out.active.push_back(vm->name());
      }
    }
  }
  return out;
}

// A log file of its own per operation (tools write beside it): operations run in parallel.
storage::Tools tools_of(const DaemonContext& ctx) {
  static std::atomic<unsigned> next{0};
  storage::Tools tools;
  tools.qemu_img = storage::qemu_img_beside(ctx.config.qemu_binary);
  tools.log = fmt::format("{}/storage-{}-{}.log", ctx.config.run_dir, ::getpid(), next++);
  if (ctx.qemu_user) {
    tools.owner = std::pair{ctx.qemu_user->uid, ctx.qemu_user->gid};
  }
  return tools;
}

Response error(Code code, std::string message) {
  return op_error_response(op_error(code, std::move(message)));
}

Response ok(json::object body, unsigned status = 200) {
  return json_response(json::serialize(body), status);
}

std::optional<std::uint64_t> body_size(BodyFields& body, bool required) {
  const auto* v = body.raw("size");
  if (v == nullptr) {
    if (required) {
      body.fail("\"size\" is required (e.g. \"10Gi\")");
    }
    return std::nullopt;
  }
  if (v->is_string()) {
    if (auto bytes = policy::parse_binary_quantity(std::string(v->as_string()))) {
      if (*bytes > 0) {
        return *bytes;
      }
    }
  }
  if (v->is_uint64() || (v->is_int64() && v->as_int64() > 0)) {
    return v->is_uint64() ? v->as_uint64() : static_cast<std::uint64_t>(v->as_int64());
  }
  body.fail(fmt::format("size {} is not a size like \"10Gi\"", json::serialize(*v)));
  return std::nullopt;
}

std::expected<storage::NewClaim, OpError> parse_post_volume(const Request& request) {
  auto body = BodyFields::parse(request.body, {"name", "size", "format", "from", "clone"});
  if (!body) {
    return std::unexpected(body.error());
  }
  storage::NewClaim out;
  out.name = body->required_string("name", "\"name\" (the claim's name) is required");
  out.format = body->optional_string("format").value_or("qcow2");
  out.from = body->optional_string("from").value_or("");
  out.clone = body->optional_string("clone").value_or("");
  const bool copies = !out.from.empty() || !out.clone.empty();
  out.size = body_size(*body, !copies).value_or(0);
  if (!out.name.empty() && !policy::is_claim_name(out.name)) {
    body->fail(policy::claim_name_error(out.name));
  }
  if (out.format != "qcow2" && out.format != "raw") {
    body->fail(fmt::format("format \"{}\" is not qcow2 or raw", out.format));
  }
  if (!out.from.empty() && !out.clone.empty()) {
    body->fail("\"from\" and \"clone\" both given; a claim is made from one of them");
  }
  return std::move(*body).finish(std::move(out));
}

json::array names_json(const std::vector<std::string>& names) {
  json::array out;
  for (const auto& name : names) {
    out.emplace_back(name);
  }
  return out;
}

json::object claim_json(const storage::ClaimFile& claim, std::optional<std::uint64_t> size,
                        const Users& users) {
  json::object out{{"name", claim.name},
                   {"path", claim.path},
                   {"format", claim.format},
                   {"device", claim.device}};
  out["virtualSize"] = size ? json::value(*size) : json::value(nullptr);
  out["usedBy"] = names_json(users.all);
  return out;
}

json::object image_json(const storage::StoredImage& image, const Users& users) {
  return {{"ref", image.ref},
          {"path", image.path},
          {"format", image.format},
          {"virtualSize", image.virtual_size},
          {"bytes", image.bytes},
          {"source", image.source},
          {"importedAt", image.imported_at},
          {"usedBy", names_json(users.all)}};
}

// The claim's virtual size, when it can be read.
std::optional<std::uint64_t> claim_size(const storage::Places& places,
                                        const storage::ClaimFile& claim) {
  auto fd = storage::open_claim(places, claim, O_RDONLY);
  if (!fd) {
    return std::nullopt;
  }
  auto size = storage::image_virtual_size(fd->get(), claim.format);
  return size ? std::optional(*size) : std::nullopt;
}

}  // namespace

// The handlers, one per route (routes_volumes_handlers below).
namespace {

asio::awaitable<Response> get_volumes(Registry& registry, DaemonContext& ctx, Request) {
  auto job = [places = storage::places_of(ctx.config)] {
    std::vector<std::pair<storage::ClaimFile, std::optional<std::uint64_t>>> out;
    for (auto& claim : storage::list_claims(places)) {
      auto size = claim_size(places, claim);
      out.emplace_back(std::move(claim), size);
    }
    return out;
  };
  auto claims = co_await run_blocking(ctx.blocking, std::move(job));
  json::array items;
  for (const auto& [claim, size] : claims) {
    const auto users =
        users_of(registry, [&](const policy::VmSpec& s) { return uses_claim(s, claim.name); });
    items.push_back(claim_json(claim, size, users));
  }
  co_return ok({{"volumes", std::move(items)}});
}

asio::awaitable<Response> post_volume(Registry& registry, DaemonContext& ctx, Request request) {
  auto parsed = parse_post_volume(request);
  if (!parsed) {
    co_return op_error_response(parsed.error());
  }
  // A running guest writes its claim: a copy of it would be torn (and QEMU's lock refuses it).
  const auto source_users = users_of(registry, [&](const policy::VmSpec& s) {
    return !parsed->clone.empty() && uses_claim(s, parsed->clone);
  });
  if (!source_users.active.empty()) {
    co_return error(Code::conflict,
                    fmt::format("claim {} is in use by running VM {}; stop it first to clone it",
                                parsed->clone, fmt::join(source_users.active, ", ")));
  }
  auto job = [places = storage::places_of(ctx.config), wanted = *parsed,
              tools = tools_of(ctx)]() -> std::expected<json::object, OpError> {
    if (auto existing = storage::find_claim(places, wanted.name)) {
      return std::unexpected(op_error(
          Code::conflict, fmt::format("claim {} exists already ({}); delete it first or pick "
                                      "another name",
                                      wanted.name, existing->path)));
    }
    auto made = storage::create_claim(places, wanted, tools);
    (void)::unlink(tools.log.c_str());
    if (!made) {
      return std::unexpected(op_error(Code::bad_request, made.error()));
    }
    return claim_json(*made, claim_size(places, *made), {});
  };
  auto made = co_await run_blocking(ctx.blocking, std::move(job));
  if (!made) {
    co_return op_error_response(made.error());
  }
  co_return ok(std::move(*made), 201);
}

asio::awaitable<Response> delete_volume(Registry& registry, DaemonContext& ctx, Request request) {
  const std::string name = request.param("name");
  if (!policy::is_claim_name(name)) {
    co_return error(Code::bad_request, policy::claim_name_error(name));
  }
  const auto users =
      users_of(registry, [&](const policy::VmSpec& s) { return uses_claim(s, name); });
  if (!users.all.empty()) {
    co_return error(Code::conflict,
                    fmt::format("claim {} is used by VM {}; delete those VMs or change their "
                                "volumes first",
                                name, fmt::join(users.all, ", ")));
  }
  auto job = [places = storage::places_of(ctx.config), name] {
    return storage::delete_claim(places, name);
  };
  auto deleted = co_await run_blocking(ctx.blocking, std::move(job));
  if (!deleted) {
    const bool missing = deleted.error().find("does not exist") != std::string::npos;
    co_return error(missing ? Code::not_found : Code::conflict, deleted.error());
  }
  co_return ok(claim_json(*deleted, std::nullopt, {}));
}

asio::awaitable<Response> post_volume_resize(Registry& registry, DaemonContext& ctx,
                                             Request request) {
  const std::string name = request.param("name");
  auto body = BodyFields::parse(request.body, {"size"});
  if (!body) {
    co_return op_error_response(body.error());
  }
  const auto size = body_size(*body, true).value_or(0);
  if (auto checked = std::move(*body).finish(size); !checked) {
    co_return op_error_response(checked.error());
  }
  const auto users =
      users_of(registry, [&](const policy::VmSpec& s) { return uses_claim(s, name); });
  if (!users.active.empty()) {
    co_return error(Code::conflict,
                    fmt::format("claim {} is in use by running VM {}; stop it first (a claim is "
                                "resized offline)",
                                name, fmt::join(users.active, ", ")));
  }
  auto job = [places = storage::places_of(ctx.config), name, size, tools = tools_of(ctx)] {
    auto grown = storage::resize_claim(places, name, size, tools);
    (void)::unlink(tools.log.c_str());
    return grown ? std::expected<json::object, std::string>(
                       claim_json(*grown, claim_size(places, *grown), {}))
                 : std::unexpected(grown.error());
  };
  auto grown = co_await run_blocking(ctx.blocking, std::move(job));
  if (!grown) {
    const bool missing = grown.error().find("does not exist") != std::string::npos;
    co_return error(missing ? Code::not_found : Code::bad_request, grown.error());
  }
  co_return ok(std::move(*grown));
}

asio::awaitable<Response> get_images(Registry& registry, DaemonContext& ctx, Request) {
  auto job = [places = storage::places_of(ctx.config)] { return storage::list_images(places); };
  auto images = co_await run_blocking(ctx.blocking, std::move(job));
  json::array items;
  for (const auto& image : images) {
    const auto users =
        users_of(registry, [&](const policy::VmSpec& s) { return uses_image(s, image.ref); });
    items.push_back(image_json(image, users));
  }
  co_return ok({{"images", std::move(items)}});
}

asio::awaitable<Response> post_image(Registry&, DaemonContext& ctx, Request request) {
  auto body = BodyFields::parse(request.body, {"ref", "file"});
  if (!body) {
    co_return op_error_response(body.error());
  }
  const std::string ref = body->required_string("ref", "\"ref\" (the image reference) is required");
  const std::string file = body->required_string("file", "\"file\" (what to import) is required");
  if (auto parsed = policy::parse_image_ref(ref); !ref.empty() && !parsed) {
    body->fail(parsed.error());
  }
  if (auto checked = std::move(*body).finish(0); !checked) {
    co_return op_error_response(checked.error());
  }
  auto job = [places = storage::places_of(ctx.config), ref, file,
              tools = tools_of(ctx)]() -> std::expected<json::object, OpError> {
    if (auto stored = storage::find_image(places, ref)) {
      return std::unexpected(op_error(
          Code::conflict, fmt::format("image {} is in the store already ({}); `qmctl image "
                                      "delete {}` first to replace it",
                                      ref, stored->path, ref)));
    }
    auto imported = storage::import_image(places, ref, file, tools);
    (void)::unlink(tools.log.c_str());
    if (!imported) {
      return std::unexpected(op_error(Code::bad_request, imported.error()));
    }
    return image_json(*imported, {});
  };
  auto imported = co_await run_blocking(ctx.blocking, std::move(job));
  if (!imported) {
    co_return op_error_response(imported.error());
  }
  co_return ok(std::move(*imported), 201);
}

asio::awaitable<Response> delete_image(Registry& registry, DaemonContext& ctx, Request request) {
  const std::string ref = request.query_value("ref").value_or("");
  if (auto parsed = policy::parse_image_ref(ref); !parsed) {
    co_return error(Code::bad_request, fmt::format("?ref=: {}", parsed.error()));
  }
  const auto users =
      users_of(registry, [&](const policy::VmSpec& s) { return uses_image(s, ref); });
  if (!users.all.empty()) {
    co_return error(Code::conflict,
                    fmt::format("image {} is used by VM {}; delete those VMs or change their "
                                "volumes first",
                                ref, fmt::join(users.all, ", ")));
  }
  auto job = [places = storage::places_of(ctx.config), ref] {
    return storage::delete_image(places, ref);
  };
  auto deleted = co_await run_blocking(ctx.blocking, std::move(job));
  if (!deleted) {
    const bool missing = deleted.error().find("is not in the image store") != std::string::npos;
    co_return error(missing ? Code::not_found : Code::conflict, deleted.error());
  }
  co_return ok(image_json(*deleted, {}));
}

using StorageHandler = asio::awaitable<Response> (*)(Registry&, DaemonContext&, Request);

}  // namespace

void add_storage_routes(Router& router, Registry& registry, DaemonContext& ctx) {
  static constexpr struct {
    http::verb verb;
    const char* path;
    StorageHandler handler;
  } kRoutes[] = {
      {http::verb::get, "/v1/volumes", &get_volumes},
      {http::verb::post, "/v1/volumes", &post_volume},
      {http::verb::delete_, "/v1/volumes/{name}", &delete_volume},
      {http::verb::post, "/v1/volumes/{name}/resize", &post_volume_resize},
      {http::verb::get, "/v1/images", &get_images},
      {http::verb::post, "/v1/images", &post_image},
      {http::verb::delete_, "/v1/images", &delete_image},
  };
  for (const auto& route : kRoutes) {
    router.add(route.verb, route.path, [&registry, &ctx, handler = route.handler](Request request) {
      return handler(registry, ctx, std::move(request));
    });
  }
}

}  // namespace qmd::daemon::api
