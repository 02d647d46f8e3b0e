// qmctl's live migration commands: migrate (with a progress bar on a terminal; Ctrl-C cancels),
// migrate-cancel, operations.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <charconv>
#include <cstdio>
#include <fmt/format.h>
#include <iostream>
#include <thread>

#include "daemon/config.hpp"
#include "daemon/qmctl/api_client.hpp"
#include "daemon/qmctl/api_output.hpp"
#include "daemon/qmctl/api_result.hpp"
#include "daemon/qmctl/args.hpp"
#include "daemon/qmctl/commands.hpp"

namespace qmd::qmctl {

namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

bool is_count(const std::string& text) {
  unsigned long n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  return ec == std::errc{} && end == text.data() + text.size();
}

std::int64_t number(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_int64() ? v->as_int64() : 0;
}

std::string text(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

std::string mib(std::int64_t bytes) { return fmt::format("{:.0f} MiB", bytes / 1048576.0); }

// "[#######.............]  35%  94/269 MiB  pass 2  switchover"
std::string progress_line(const json::object& op) {
  const auto* p = op.if_contains("progress");
  if (p == nullptr || !p->is_object()) {
    return text(op, "phase");
  }
  const auto& progress = p->as_object();
  const std::int64_t total = number(progress, "bytesTotal");
  const std::int64_t remaining = number(progress, "bytesRemaining");
  const int percent = total > 0 ? static_cast<int>(100 * (total - remaining) / total) : 0;
  constexpr int kWidth = 24;
  const int filled = percent * kWidth / 100;
  return fmt::format("[{}{}] {:3}%  {}/{}  pass {}  {}", std::string(filled, '#'),
                     std::string(kWidth - filled, '.'), percent, mib(number(progress, "bytesSent")),
                     mib(total), number(progress, "passes"), text(op, "phase"));
}

std::atomic<int> g_interrupts{0};
extern "C" void on_interrupt(int) { g_interrupts.fetch_add(1); }

// Follows operation `id` until it ends: a bar on a terminal, phase changes otherwise; the first
// Ctrl-C cancels it. Returns the finished operation, or an error to print.
std::expected<json::object, std::string> follow(const ApiClient& client, const std::string& id) {
  const bool tty = ::isatty(STDERR_FILENO) == 1;
  struct sigaction action {};
  action.sa_handler = on_interrupt;
  struct sigaction previous {};
  ::sigaction(SIGINT, &action, &previous);
  std::string last_phase;
  bool cancelled = false;
  std::expected<json::object, std::string> result = std::unexpected(std::string("no answer"));
  for (int failures = 0;;) {
    if (g_interrupts.load() > 0 && !cancelled) {
      cancelled = true;
      std::cerr << (tty ? "\n" : "") << "qmctl: cancelling the migration (operation " << id
                << ")\n";
      // Past the postcopy switch there is no way back: qmd says so, and the migration goes on.
      auto refused = client.request("DELETE", "/v1/operations/" + url_escape(id));
      if (refused && refused->status == 409) {
        std::cerr << "qmctl: " << error_message(*refused) << "\n";
      }
    }
    auto response = client.request("GET", "/v1/operations/" + url_escape(id));
    if (!response || response->status != 200) {
      // qmd restarting, or a moment of load: a few misses are not the end of the migration.
      if (++failures < 20) {
        std::this_thread::sleep_for(500ms);
        continue;
      }
      result = std::unexpected(response ? error_message(*response) : response.error());
      break;
    }
    failures = 0;
    boost::system::error_code ec;
    auto value = json::parse(response->body, ec);
    if (ec || !value.is_object()) {
      result = std::unexpected("qmd answered with something that is not an operation");
      break;
    }
    const auto& op = value.as_object();
    if (tty) {
      std::cerr << "\r\033[K" << progress_line(op) << std::flush;
    } else if (text(op, "phase") != last_phase) {
      last_phase = text(op, "phase");
      std::cerr << "migration: " << last_phase << "\n";
    }
    if (text(op, "status") != "running") {
      if (tty) {
        std::cerr << "\n";
      }
      result = op;
      break;
    }
    std::this_thread::sleep_for(250ms);
  }
  ::sigaction(SIGINT, &previous, nullptr);
  return result;
}

// --map-path OLD=NEW[,OLD=NEW...]: where the destination puts each copied disk.
std::expected<json::object, std::string> storage_paths(const std::string& given) {
  json::object paths;
  std::string_view rest = given;
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    const std::string_view pair = rest.substr(0, comma);
    const auto eq = pair.find('=');
    if (eq == std::string_view::npos) {
      return std::unexpected(
          fmt::format("--map-path takes OLD=NEW[,OLD=NEW...], not \"{}\"", pair));
    }
    paths[pair.substr(0, eq)] = pair.substr(eq + 1);
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
  }
  return paths;
}

// The body of POST /v1/vms/NAME/migrate from the flags, or what is wrong with them.
std::expected<json::object, std::string> migrate_body(const Invocation& in) {
  json::object body;
  body["destination"] = in.value("--to");
  if (in.has("--bandwidth")) {
    body["maxBandwidth"] = in.value("--bandwidth");
  }
  if (in.has("--postcopy-bandwidth")) {
    body["postcopyBandwidth"] = in.value("--postcopy-bandwidth");
  }
  for (const auto& [flag, key] : {std::pair{"--downtime", "downtimeLimitMs"},
                                  std::pair{"--max-downtime", "maxDowntimeMs"},
                                  std::pair{"--multifd", "multifdChannels"},
                                  std::pair{"--timeout", "timeoutSeconds"}}) {
    if (in.has(flag)) {
      body[key] = std::stoll(in.value(flag));
    }
  }
  body["autoConverge"] = in.has("--auto-converge");
  body["postcopy"] = in.has("--postcopy");
  body["copyStorage"] = in.has("--copy-storage");
  if (in.has("--map-path")) {
    auto paths = storage_paths(in.value("--map-path"));
    if (!paths) {
      return std::unexpected(paths.error());
    }
    body["storagePaths"] = std::move(*paths);
  }
  if (in.has("--transport")) {
    body["transport"] = in.value("--transport");
  }
  return body;
}

// The finished operation `done` of `in`, as the user sees it: its exit code.
int report_migration(const Invocation& in, const json::object& done) {
  if (in.globals.output == "json") {
    std::cout << pretty_json(done);
  }
  if (text(done, "status") != "succeeded") {
    return fail(fmt::format("{}: migration {}: {}", in.name(), text(done, "status"),
                            text(done, "error")));
  }
  if (in.globals.output != "json") {
    const auto& progress = done.at("progress").as_object();
    // QEMU's downtime is the stop-and-copy; "paused" adds the hand-over to the destination.
    const std::int64_t downtime = number(progress, "downtimeMs");
    std::cout << fmt::format("{}: migrated to {} in {} ms (downtime {} ms, guest paused {} ms, "
                             "{} sent)\n",
                             in.name(), in.value("--to"), number(progress, "elapsedMs"),
                             downtime > 0 ? std::to_string(downtime) : std::string("?"),
                             number(progress, "pausedMs"), mib(number(progress, "bytesSent")));
  }
  return 0;
}

int migrate(const Invocation& in) {
  auto body = migrate_body(in);
  if (!body) {
    std::cerr << "qmctl migrate: " << body.error() << "\n";
    return 2;
  }
  ApiTimeouts timeouts;
  timeouts.request = 120s;  // the destination starts its QEMU before the answer comes
  const auto client = client_for(in.globals, timeouts);
  auto started = client.request("POST", "/v1/vms/" + url_escape(in.name()) + "/migrate",
                                json::serialize(*body), "application/json");
  if (!started || started->status != 202 || in.has("--no-wait")) {
    return finish(in.globals, started, [&in](const json::value& op) {
      std::cout << in.name() << ": migrating (operation " << text(op.as_object(), "id")
                << "; qmctl operations shows it)\n";
    });
  }
  boost::system::error_code ec;
  const auto op = json::parse(started->body, ec);
  if (ec || !op.is_object()) {
    return fail("qmd answered the migration with something that is not an operation");
  }
  auto done = follow(client, text(op.as_object(), "id"));
  if (!done) {
    return fail(done.error());
  }
  return report_migration(in, *done);
}

// The running migration of VM `name`, or an error to print.
std::expected<std::string, std::string> running_migration(const ApiClient& client,
                                                          const std::string& name) {
  auto response = client.request("GET", "/v1/operations");
  if (!response) {
    return std::unexpected(response.error());
  }
  if (response->status != 200) {
    return std::unexpected(error_message(*response));
  }
  boost::system::error_code ec;
  const auto value = json::parse(response->body, ec);
  if (!ec && value.is_object()) {
    for (const auto& entry : value.as_object().at("operations").as_array()) {
      const auto& op = entry.as_object();
      if (text(op, "vm") == name && text(op, "kind") == "migrate" &&
          text(op, "status") == "running") {
        return text(op, "id");
      }
    }
  }
  return std::unexpected(fmt::format("{} has no migration under way", name));
}

int migrate_cancel(const Invocation& in) {
  const auto client = client_for(in.globals);
  auto id = running_migration(client, in.name());
  if (!id) {
    return fail(id.error());
  }
  auto cancelled = client.request("DELETE", "/v1/operations/" + url_escape(*id));
  if (!cancelled || cancelled->status != 202) {
    return finish(in.globals, cancelled, "");
  }
  auto done = follow(client, *id);
  if (!done) {
    return fail(done.error());
  }
  if (in.globals.output == "json") {
    std::cout << pretty_json(*done);
  } else {
    std::cout << fmt::format("{}: migration {} ({})\n", in.name(), text(*done, "status"),
                             text(*done, "error"));
  }
  return text(*done, "status") == "succeeded" ? 1 : 0;  // it finished before the cancel
}

int operations(const Invocation& in) {
  return finish(in.globals, client_for(in.globals).request("GET", "/v1/operations"),
                [](const json::value& value) {
                  std::cout << fmt::format("{:<22} {:<10} {:<12} {:<10} {}\n", "ID", "VM",
                                           "STATUS", "PHASE", "DETAIL");
                  for (const auto& entry : value.as_object().at("operations").as_array()) {
                    const auto& op = entry.as_object();
                    std::string detail = text(op, "error");
                    if (detail.empty() && text(op, "status") == "running") {
                      detail = progress_line(op);
                    }
                    std::cout << fmt::format("{:<22} {:<10} {:<12} {:<10} {}\n", text(op, "id"),
                                             text(op, "vm"), text(op, "status"),
                                             text(op, "phase"), detail);
                  }
                });
}

const std::vector<Command>& commands() {
  static const std::vector<Command> table = {
      {{"migrate",
        "migrate NAME --to SOCKET [--bandwidth B] [--downtime MS] [--postcopy] [--no-wait]",
        "live-migrate a running VM to another qmd",
        "  --to SOCKET        the destination qmd's API socket\n"
        "  --bandwidth B      bytes per second, e.g. 1Gi or 500Mi (default: unlimited;\n"
        "                     QEMU's own default is 128 MiB/s)\n"
        "  --downtime MS      the pause the switchover may take (default 300); qmd raises it\n"
        "                     stepwise up to --max-downtime when the guest does not converge\n"
        "  --max-downtime MS  (default 2000)\n"
        "  --auto-converge    let QEMU throttle the guest's vCPUs when it does not converge\n"
        "  --postcopy         switch to postcopy after two passes: the guest runs on the\n"
        "                     destination from then on and pulls the memory it lacks; no\n"
        "                     cancel after that point, and a broken link then loses the\n"
        "                     guest (needs userfaultfd for the destination's QEMU user)\n"
        "  --postcopy-bandwidth B\n"
        "                     the cap once in postcopy (default: --bandwidth)\n"
        "  --multifd N        send over N parallel channels\n"
        "  --timeout S        cancel when not done within S seconds (default 600)\n"
        "  --copy-storage     copy local disks (hostDisk, file) too, over NBD, every write\n"
        "                     made meanwhile included\n"
        "  --map-path OLD=NEW[,OLD=NEW...]\n"
        "                     with --copy-storage: the destination's path for a disk\n"
        "                     (default: the same path)\n"
        "  --transport T      auto (default: a unix socket when both qmd share this host,\n"
        "                     else TCP to the destination's migration.address), unix, tcp\n"
        "  --no-wait          print the operation and return; qmctl operations follows it\n"
        "On a terminal a progress bar shows; Ctrl-C cancels the migration.\n",
        {{"--to", "", true, kRequired},
         {"--bandwidth", "", true},
         {"--downtime", "", true, is_count, "--downtime takes milliseconds"},
         {"--max-downtime", "", true, is_count, "--max-downtime takes milliseconds"},
         {"--auto-converge", "", false},
         {"--postcopy", "", false},
         {"--postcopy-bandwidth", "", true},
         {"--multifd", "", true, is_count, "--multifd takes a number of channels"},
         {"--timeout", "", true, is_count, "--timeout takes a number of seconds"},
         {"--copy-storage", "", false},
         {"--map-path", "", true},
         {"--transport", "", true},
         {"--no-wait", "", false}},
        1,
        1},
       migrate},
      {{"migrate-cancel",
        "migrate-cancel NAME",
        "cancel a VM's migration; it keeps running here",
        "",
        {},
        1,
        1},
       migrate_cancel},
      {{"stdio-proxy",
        "stdio-proxy",
        "relay one API connection over stdin/stdout (qmd runs it through ssh)",
        "A qmd migrating to ssh://HOST runs `ssh HOST qmctl -s SOCKET stdio-proxy`.\n",
        {},
        0,
        0},
       [](const Invocation& in) {
         return stdio_proxy(in.globals.socket.empty() ? daemon::default_socket_path()
                                                      : in.globals.socket);
       }},
      {{"operations",
        "operations",
        "long operations (migrations) running or recently ended",
        "",
        {},
        0,
        0},
       operations},
  };
  return table;
}

const Command* find(std::string_view name) { return find_command(commands(), name); }

}  // namespace

bool is_migrate_command(std::string_view name) { return find(name) != nullptr; }

std::string migrate_command_summary() {
  std::string out;
  for (const auto& c : commands()) {
    const std::string_view usage = c.spec.usage;
    out += summary_line(usage.substr(0, usage.find(" --")), c.spec.summary);
  }
  return out;
}

int cmd_migrate(std::string_view name, const std::vector<std::string>& args,
                GlobalFlags globals) {
  const Command* c = find(name);
  if (c == nullptr) {
    return 2;
  }
  return run_command(c->spec, kGlobalFlagsHelp, args, std::move(globals), c->run);
}

}  // namespace qmd::qmctl
