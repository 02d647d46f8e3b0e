// /v1/host, /v1/vms and /v1/vms/{name}[/{action}|/argv|/logs].
#include <fmt/format.h>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <charconv>

#include "daemon/api/network_json.hpp"
#include "daemon/api/presets_json.hpp"
#include "daemon/api/routes.hpp"
#include "daemon/api/vm_json.hpp"
#include "daemon/async/blocking.hpp"
#include "daemon/launch/file_tail.hpp"
#include "policy/all_errors.hpp"
#include "policy/host_caps.hpp"
#include "policy/parse.hpp"
#include "policy/presets.hpp"
#include "policy/spec_limits.hpp"

namespace qmd::daemon::api {

namespace json = boost::json;

namespace {

// GET .../logs returns at most QEMU's last 16 MiB: the log grows with whatever QEMU prints.
constexpr std::size_t kMaxLogBytes = 16 << 20;

// interfaces[].ports of a running VM: the host port each one listens on.
json::array port_forwards_json(const std::vector<policy::PortForward>& forwards) {
  json::array out;
  for (const auto& f : forwards) {
    out.push_back(json::object{{"interface", f.interface},
                               {"name", f.name},
                               {"protocol", f.protocol},
                               {"guestPort", std::int64_t{f.guest_port}},
                               {"hostPort", std::int64_t{f.host_port}}});
  }
  return out;
}

Response vm_response(const DaemonContext& ctx, const Vm& vm, unsigned status = 200) {
  auto details = to_json(vm.details());
  if (ctx.nat) {  // its stable addresses on the NAT network, while stopped too
    if (auto nat = nat_interfaces_json(*ctx.nat, vm.name()); !nat.empty()) {
      details["natInterfaces"] = std::move(nat);
    }
  }
  details["portForwards"] = port_forwards_json(vm.port_forwards());
  return json_response(json::serialize(details), status);
}

bool flag(const Request& request, const std::string& key) {
  const auto value = request.query_value(key);
  return value && (*value == "true" || *value == "1" || value->empty());
}

OpError bad_spec(policy::SpecError error) {
  policy::SpecErrors errors{std::move(error)};
  return OpError{OpError::Code::bad_spec, policy::to_string(errors), errors};
}

// The run policy a start would use (Vm::render), so that a spec accepted here validates there.
policy::RunPolicy run_policy(const DaemonContext& ctx) {
  policy::RunPolicy policy;
  policy.use_emulation = ctx.config.use_emulation;
  policy.hyperv = ctx.config.hyperv;
  policy.bridges = ctx.config.bridges;
  policy.masquerade_nat = masquerade_mode(ctx.config) == NetworkConfig::Masquerade::nat;
  policy.state_dir = ctx.config.state_dir;
  return policy;
}

// A spec body's shape, syntax and validity, checked on the blocking pool: a large or
// hostile body costs a pool thread, never the loop. Every error at once (parse, presets,
// validation), as qmctl validate reports them. The runtime parses it again (cheaply, now that
// it is known to be sane) when it defines the VM.
std::optional<OpError> check_spec_text(const DaemonContext& ctx, const std::string& text) {
  const std::string file = "request body";
  if (auto deep = policy::check_nesting(text, file)) {
    return bad_spec(std::move(*deep));
  }
  const auto parsed = policy::parse_spec_partial(text, file);
  // Counted before validation: validating 40 000 disks is itself the cost to avoid.
  if (auto many = policy::check_device_count(parsed.spec, file)) {
    return bad_spec(std::move(*many));
  }
  auto errors = policy::all_errors(parsed, ctx.presets, run_policy(ctx));
  if (!errors.empty()) {
    return OpError{OpError::Code::bad_spec, policy::to_string(errors), errors};
  }
  return std::nullopt;
}

asio::awaitable<std::optional<OpError>> check_spec_off_loop(DaemonContext& ctx,
                                                            const std::string& text) {
  auto job = [context = &ctx, body = &text] { return check_spec_text(*context, *body); };
  auto problem = co_await run_blocking(ctx.blocking, std::move(job));
  co_return problem;
}

using Action = asio::awaitable<OpResult> (*)(Vm&, const Request&);

template <auto Member>
asio::awaitable<OpResult> simple(Vm& vm, const Request&) {
  co_return co_await (vm.*Member)();
}

asio::awaitable<OpResult> stop_action(Vm& vm, const Request& request) {
  std::optional<std::chrono::seconds> grace;
  if (auto text = request.query_value("grace")) {
    long seconds = -1;
    const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), seconds);
    if (ec != std::errc{} || end != text->data() + text->size() || seconds < 0) {
      co_return std::unexpected(
          op_error(OpError::Code::bad_request,
                   fmt::format("grace \"{}\" is not a number of seconds (0 or more)", *text)));
    }
    grace = std::chrono::seconds{seconds};
  }
  co_return co_await vm.stop(grace);
}

// {"vms": [summary...]} written straight into one string reserved for the whole list: no
// JSON tree, no VM's strings copied, no shared_ptr taken (1 000 VMs: one allocation).
std::string vm_list_json(const Registry& registry) {
  constexpr std::size_t kEntryBytes = 160;  // a running VM with an agent, about
  std::string out;
  out.reserve(registry.size() * kEntryBytes + 16);
  out += R"({"vms":[)";
  bool first = true;
  registry.each([&out, &first](const Vm& vm) {
    if (!first) {
      out += ',';
    }
    first = false;
    append_json(vm.summary(), out);
  });
  out += "]}";
  return out;
}

// Where the caps came from: {"startedFrom", "probedAt", "ageSeconds", "refresh", "cacheNote"}.
json::object probe_json(const ProbeStatus& probe) {
  const auto age = std::chrono::duration_cast<std::chrono::seconds>(
      std::chrono::system_clock::now() - probe.probed_at);
  return json::object{{"startedFrom", probe.started_from},
                      {"probedAt", format_time(probe.probed_at)},
                      {"ageSeconds", std::max<std::int64_t>(0, age.count())},
                      {"refresh", probe.refresh},
                      {"cacheNote", probe.cache_note}};
}

}  // namespace

void add_host_routes(Router& router, DaemonContext& ctx) {
  router.add(http::verb::get, "/v1/host", [&ctx](Request) -> asio::awaitable<Response> {
    auto host = json::parse(policy::host_caps_json(ctx.host)).as_object();
    host["presets"] = presets_json(ctx.presets);
    host["probe"] = probe_json(ctx.probe);
    co_return json_response(json::serialize(host));
  });
}

// A table of routes, one short lambda each, read top to bottom like the API page; long as a
// whole only because the table is, so it stays one function.
void add_vm_routes(Router& router, Registry& registry, DaemonContext& ctx) {
  router.add(http::verb::get, "/v1/vms", [&registry](Request) -> asio::awaitable<Response> {
    co_return json_response(vm_list_json(registry));
  });

  router.add(http::verb::post, "/v1/vms",
             [&registry, &ctx](Request request) -> asio::awaitable<Response> {
               auto problem = co_await check_spec_off_loop(ctx, request.body);
               if (problem) {
                 co_return op_error_response(*problem);
               }
               auto created = co_await registry.create(std::move(request.body), "request body");
               if (!created) {
                 co_return op_error_response(created.error());
               }
               auto vm = *created;
               if (flag(request, "start")) {
                 if (auto started = co_await vm->start(); !started) {
                   co_return op_error_response(started.error());
                 }
               }
               co_return vm_response(ctx, *vm, 201);
             });

  router.add(http::verb::get, "/v1/vms/{name}",
             [&registry, &ctx](Request request) -> asio::awaitable<Response> {
               auto vm = registry.find(request.param("name"));
               co_return vm ? vm_response(ctx, *vm) : vm_not_found(request.param("name"));
             });

  router.add(http::verb::put, "/v1/vms/{name}",
             [&registry, &ctx](Request request) -> asio::awaitable<Response> {
               auto vm = registry.find(request.param("name"));
               if (!vm) {
                 co_return vm_not_found(request.param("name"));
               }
               auto problem = co_await check_spec_off_loop(ctx, request.body);
               if (problem) {
                 co_return op_error_response(*problem);
               }
               auto check = registry.update_check(vm->name());
               auto done = co_await vm->redefine(std::move(request.body), std::move(check));
               if (!done) {
                 co_return op_error_response(done.error());
               }
               co_return vm_response(ctx, *vm);
             });

  router.add(http::verb::delete_, "/v1/vms/{name}",
             [&registry](Request request) -> asio::awaitable<Response> {
               const std::string name = request.param("name");
               if (auto done = co_await registry.remove(name, flag(request, "force")); !done) {
                 co_return op_error_response(done.error());
               }
               json::object body;
               body["deleted"] = name;
               co_return json_response(json::serialize(body));
             });

  static constexpr std::pair<const char*, Action> kActions[] = {
      {"start", &simple<&Vm::start>},   {"stop", &stop_action},
      {"kill", &simple<&Vm::kill>},     {"pause", &simple<&Vm::pause>},
      {"resume", &simple<&Vm::resume>}, {"reset", &simple<&Vm::reset>},
      {"reboot", &simple<&Vm::reboot>}, {"discard-saved", &simple<&Vm::discard_saved_state>}};
  for (const auto& [verb, action] : kActions) {
    router.add(http::verb::post, fmt::format("/v1/vms/{{name}}/{}", verb),
               [&registry, &ctx, action](Request request) -> asio::awaitable<Response> {
                 auto vm = registry.find(request.param("name"));
                 if (!vm) {
                   co_return vm_not_found(request.param("name"));
                 }
                 if (auto done = co_await action(*vm, request); !done) {
                   co_return op_error_response(done.error());
                 }
                 co_return vm_response(ctx, *vm);
               });
  }

  router.add(http::verb::get, "/v1/vms/{name}/argv",
             [&registry](Request request) -> asio::awaitable<Response> {
               auto vm = registry.find(request.param("name"));
               if (!vm) {
                 co_return vm_not_found(request.param("name"));
               }
               auto rendered = vm->render();
               if (!rendered) {
                 co_return op_error_response(rendered.error());
               }
               json::object body;
               body["binary"] = rendered->binary;
               json::array argv;
               for (const auto& arg : rendered->argv.args()) {
                 argv.emplace_back(arg);
               }
               body["argv"] = std::move(argv);
               json::array env(rendered->env.begin(), rendered->env.end());
               body["env"] = std::move(env);
               json::array sidecars;
               for (const auto& sidecar : rendered->sidecars) {
                 json::object entry;
                 entry["name"] = sidecar.name;
                 entry["argv"] = json::array(sidecar.argv.begin(), sidecar.argv.end());
                 sidecars.push_back(std::move(entry));
               }
               body["sidecars"] = std::move(sidecars);
               body["warnings"] = json::array(rendered->warnings.begin(), rendered->warnings.end());
               co_return json_response(json::serialize(body));
             });

  router.add(
      http::verb::get, "/v1/vms/{name}/logs",
      [&registry, &ctx](Request request) -> asio::awaitable<Response> {
        auto vm = registry.find(request.param("name"));
        if (!vm) {
          co_return vm_not_found(request.param("name"));
        }
        std::size_t lines = 0;
        if (auto text = request.query_value("lines")) {
          const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), lines);
          if (ec != std::errc{} || end != text->data() + text->size()) {
            co_return op_error_response(op_error(
                OpError::Code::bad_request, fmt::format("lines \"{}\" is not a number", *text)));
          }
        }
        Response response;
        response.content_type = "text/plain; charset=utf-8";
        auto job = [path = vm->log_path(), lines] {
          return file_tail(path, lines, kMaxLogBytes);
        };
        response.body = co_await run_blocking(ctx.blocking, std::move(job));
        co_return response;
      });
}

}  // namespace qmd::daemon::api
