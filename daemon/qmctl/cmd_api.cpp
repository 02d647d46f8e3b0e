// qmctl's daemon commands: parse the command line, call qmd's API, print the answer for
// people (tables, key: value) or as the API's JSON (-o json).
#include <yaml-cpp/yaml.h>

#include <boost/json.hpp>
#include <charconv>
#include <fstream>
#include <functional>
#include <iostream>
#include <optional>
#include <sstream>

#include "daemon/config.hpp"
#include "daemon/qmctl/api_client.hpp"
#include "daemon/qmctl/api_output.hpp"
#include "daemon/qmctl/commands.hpp"

namespace qmd::qmctl {

namespace {

namespace json = boost::json;

struct Flag {
  std::string_view name;        // "--grace"
  std::string_view short_name;  // "-n", or ""
  bool takes_value;
};

// What one command was given.
struct Invocation {
  GlobalFlags globals;
  std::vector<std::string> names;            // positional arguments
  std::map<std::string, std::string> flags;  // by long name; "" for switches
  bool has(std::string_view flag) const { return flags.contains(std::string(flag)); }
  std::string value(std::string_view flag) const {
    const auto it = flags.find(std::string(flag));
    return it == flags.end() ? std::string{} : it->second;
  }
  std::string name() const { return names.empty() ? std::string{} : names.front(); }
};

struct Command {
  std::string_view name;
  std::string usage;         // "show NAME"
  std::string_view summary;  // one line
  std::string_view details;  // flags, more lines (may be empty)
  std::vector<Flag> flags;
  std::size_t min_names;
  std::size_t max_names;
  std::function<int(const Invocation&)> run;
};

constexpr std::string_view kGlobalHelp =
    "Global flags (before or after the command):\n"
    "  -s, --socket PATH   qmd's API socket (default: $QMD_SOCKET, else <runDir>/qmd.sock)\n"
    "  -o json             print the API's JSON instead of text\n"
    "  -h, --help          this help\n";

const std::vector<Command>& commands();

void print_usage(const Command& c, std::ostream& out) {
  out << "usage: qmctl " << c.usage << "\n\n" << c.summary << "\n";
  if (!c.details.empty()) {
    out << "\n" << c.details;
  }
  out << "\n" << kGlobalHelp;
}

int usage_error(const Command& c, const std::string& what) {
  std::cerr << "qmctl " << c.name << ": " << what << "\n";
  print_usage(c, std::cerr);
  return 2;
}

// Parses `args` against `c`; a message on a usage error.
std::expected<Invocation, std::string> parse(const Command& c, const std::vector<std::string>& args,
                                             GlobalFlags globals) {
  Invocation in{std::move(globals), {}, {}};
  bool only_names = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string arg = args[i];
    if (only_names || arg == "-" || !arg.starts_with("-")) {
      in.names.push_back(arg);
      continue;
    }
    if (arg == "--") {
      only_names = true;
      continue;
    }
    std::optional<std::string> inline_value;
    if (const auto eq = arg.find('='); arg.starts_with("--") && eq != std::string::npos) {
      inline_value = arg.substr(eq + 1);
      arg.resize(eq);
    } else if (arg.size() > 2 && arg[1] != '-' && (arg[1] == 'o' || arg[1] == 's')) {
      inline_value = arg.substr(2);  // -ojson
      arg.resize(2);
    }
    const auto take_value = [&]() -> std::optional<std::string> {
      if (inline_value) {
        return inline_value;
      }
      if (i + 1 < args.size()) {
        return args[++i];
      }
      return std::nullopt;
    };
    if (arg == "-h" || arg == "--help") {
      in.globals.help = true;
    } else if (arg == "-s" || arg == "--socket" || arg == "-o" || arg == "--output") {
      const auto value = take_value();
      if (!value) {
        return std::unexpected(arg + " needs a value");
      }
      (arg == "-s" || arg == "--socket" ? in.globals.socket : in.globals.output) = *value;
    } else {
      const auto flag = std::find_if(c.flags.begin(), c.flags.end(), [&](const Flag& f) {
        return arg == f.name || (!f.short_name.empty() && arg == f.short_name);
      });
      if (flag == c.flags.end()) {
        return std::unexpected("unknown flag " + arg);
      }
      if (flag->takes_value) {
        const auto value = take_value();
        if (!value) {
          return std::unexpected(arg + " needs a value");
        }
        in.flags[std::string(flag->name)] = *value;
      } else if (inline_value) {
        return std::unexpected(arg + " takes no value");
      } else {
        in.flags[std::string(flag->name)] = "";
      }
    }
  }
  if (in.globals.output == "text") {
    in.globals.output.clear();
  }
  if (!in.globals.output.empty() && in.globals.output != "json") {
    return std::unexpected("-o takes json (or text), not \"" + in.globals.output + "\"");
  }
  if (in.globals.help) {
    return in;
  }
  if (in.names.size() < c.min_names) {
    return std::unexpected(c.min_names == 1 ? "missing NAME" : "missing arguments");
  }
  if (in.names.size() > c.max_names) {
    return std::unexpected("unexpected argument \"" + in.names[c.max_names] + "\"");
  }
  return in;
}

std::optional<unsigned long> number(const std::string& text) {
  unsigned long n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc{} || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return n;
}

ApiClient client_for(const Invocation& in, ApiTimeouts timeouts = {}) {
  return ApiClient(in.globals.socket.empty() ? daemon::default_socket_path() : in.globals.socket,
                   timeouts);
}

int fail(const std::string& message) {
  std::cerr << "qmctl: " << message << "\n";
  return 1;
}

// The usual ending: transport error or API error -> 1; -o json -> the JSON; else `human`.
int finish(const Invocation& in, const std::expected<ApiResponse, std::string>& response,
           const std::function<void(const json::value&)>& human) {
  if (!response) {
    return fail(response.error());
  }
  if (response->status / 100 != 2) {
    return fail(error_message(*response));
  }
  boost::system::error_code ec;
  const auto value = json::parse(response->body, ec);
  if (ec) {
    std::cout << response->body;  // not JSON: print what came
    return 0;
  }
  if (in.globals.output == "json") {
    std::cout << pretty_json(value);
  } else {
    human(value);
  }
  return 0;
}

std::string string_member(const json::value& v, std::string_view key) {
  const auto* m = v.is_object() ? v.as_object().if_contains(key) : nullptr;
  return m != nullptr && m->is_string() ? std::string(m->as_string()) : std::string{};
}

std::function<void(const json::value&)> say(std::string what) {
  return [what](const json::value& vm) {
    const auto state = string_member(vm, "state");
    std::cout << string_member(vm, "name") << ": " << what
              << (state.empty()  ? ""
                  : what.empty() ? state
                                 : " (" + state + ")")
              << "\n";
  };
}

int run_define(const Invocation& in, bool create) {
  const auto file = in.value("--file");
  std::ifstream stream(file, std::ios::binary);
  std::stringstream text;
  text << stream.rdbuf();
  if (!stream) {
    return fail("cannot read " + file);
  }
  const std::string body = text.str();
  const std::string type = file.ends_with(".json") ? "application/json" : "application/yaml";
  auto client = client_for(in);
  if (create) {
    const std::string target = in.has("--start") ? "/v1/vms?start=true" : "/v1/vms";
    return finish(in, client.request("POST", target, body, type), say("created"));
  }
  // The definition to update is the one the file names.
  std::string name;
  try {
    const auto root = YAML::Load(body);
    if (root.IsMap() && root["metadata"] && root["metadata"]["name"]) {
      name = root["metadata"]["name"].as<std::string>();
    }
  } catch (const YAML::Exception&) {
    // the daemon says what is wrong with the file; here only the name matters
  }
  if (name.empty()) {
    return fail(file + " has no metadata.name: cannot tell which VM to update");
  }
  return finish(in, client.request("PUT", "/v1/vms/" + url_escape(name), body, type),
                say("updated"));
}

int run_action(const Invocation& in, const std::string& action) {
  std::string target = "/v1/vms/" + url_escape(in.name()) + "/" + action;
  ApiTimeouts timeouts;
  if (in.has("--grace")) {
    const auto grace = number(in.value("--grace"));
    target += "?grace=" + in.value("--grace");
    // The daemon waits the grace period, then escalates: allow for both.
    timeouts.request = std::max(timeouts.request, std::chrono::milliseconds((*grace + 120) * 1000));
  }
  return finish(in, client_for(in, timeouts).request("POST", target), say(""));
}

// events and logs: the body as it comes. `lines_as_events`: parse each NDJSON line.
int run_stream(const Invocation& in, const std::string& target, bool follow, bool events) {
  std::string pending;
  const auto emit_line = [&](const std::string& line) {
    if (!events || in.globals.output == "json" || line.empty()) {
      std::cout << line << "\n";
      return;
    }
    boost::system::error_code ec;
    const auto value = json::parse(line, ec);
    std::cout << (ec ? line + "\n" : event_line(value));
  };
  const auto on_chunk = [&](std::string_view chunk) {
    pending.append(chunk);
    for (auto nl = pending.find('\n'); nl != std::string::npos; nl = pending.find('\n')) {
      emit_line(pending.substr(0, nl));
      pending.erase(0, nl + 1);
    }
    std::cout.flush();
  };
  const auto response = client_for(in).stream(target, on_chunk, !follow);
  if (!pending.empty()) {
    emit_line(pending);
  }
  if (!response) {
    return fail(response.error());
  }
  if (response->status / 100 != 2) {
    return fail(error_message(*response));
  }
  return 0;
}

int run_events(const Invocation& in) {
  std::string query;
  if (!in.names.empty()) {
    query += "vm=" + url_escape(in.name());
  }
  if (in.has("--follow")) {
    query += (query.empty() ? "" : "&") + std::string("follow=true");
  }
  return run_stream(in, "/v1/events" + (query.empty() ? "" : "?" + query), in.has("--follow"),
                    true);
}

int run_logs(const Invocation& in) {
  std::string target = "/v1/vms/" + url_escape(in.name()) + "/logs";
  if (in.has("--lines")) {
    target += "?lines=" + in.value("--lines");
  }
  return run_stream(in, target, false, false);
}

Command action(std::string_view name, std::string_view summary) {
  return Command{
      name,    std::string(name) + " NAME",
      summary, "",
      {},      1,
      1,       [a = std::string(name)](const Invocation& in) {
                   return run_action(in, a); }};
}

const std::vector<Command>& commands() {
  static const std::vector<Command> table = [] {
    std::vector<Command> t;
    t.reserve(20);
    t.push_back({"host",
                 "host [--offline]",
                 "what this host offers (KVM, Hyper-V, OVMF, swtpm), as qmd sees it",
                 "  --offline   probe this host here instead of asking qmd (-o text|json)\n",
                 {{"--offline", "", false}},
                 0,
                 0,
                 [](const Invocation& in) {
                   return finish(in, client_for(in).request("GET", "/v1/host"),
                                 [](const json::value& v) { std::cout << pretty_json(v); });
                 }});
    t.push_back({"list",
                 "list",
                 "the VMs qmd keeps: NAME STATE PID AGENT",
                 "",
                 {},
                 0,
                 0,
                 [](const Invocation& in) {
                   return finish(in, client_for(in).request("GET", "/v1/vms"),
                                 [](const json::value& v) { std::cout << vm_table(v); });
                 }});
    t.push_back({"show",
                 "show NAME",
                 "one VM: state, pid, agent, QEMU version, last error",
                 "  -o json shows the spec as given too (specText)\n",
                 {},
                 1,
                 1,
                 [](const Invocation& in) {
                   return finish(in,
                                 client_for(in).request("GET", "/v1/vms/" + url_escape(in.name())),
                                 [](const json::value& v) { std::cout << vm_details(v); });
                 }});
    t.push_back(
        {"create",
         "create -f FILE [--start]",
         "define a VM from a spec file (YAML, or JSON when FILE ends in .json)",
         "  -f, --file FILE   the VirtualMachine spec\n  --start           start it right away\n",
         {{"--file", "-f", true}, {"--start", "", false}},
         0,
         0,
         [](const Invocation& in) { return run_define(in, true); }});
    t.push_back({"apply",
                 "apply -f FILE",
                 "update the definition of the VM the file names (metadata.name)",
                 "  -f, --file FILE   the VirtualMachine spec\n",
                 {{"--file", "-f", true}},
                 0,
                 0,
                 [](const Invocation& in) { return run_define(in, false); }});
    t.push_back({"delete",
                 "delete NAME [--force]",
                 "remove a VM's definition and state",
                 "  --force   also when it runs (it is killed first)\n",
                 {{"--force", "", false}},
                 1,
                 1,
                 [](const Invocation& in) {
                   const std::string target = "/v1/vms/" + url_escape(in.name()) +
                                              (in.has("--force") ? "?force=true" : "");
                   return finish(
                       in, client_for(in).request("DELETE", target),
                       [&](const json::value&) { std::cout << in.name() << ": deleted\n"; });
                 }});
    t.push_back(action("start", "start a VM"));
    t.push_back({"stop",
                 "stop NAME [--grace S]",
                 "shut a VM down gracefully (guest agent, else ACPI), then harder",
                 "  --grace S   seconds to wait for the guest (default: the spec's\n"
                 "              terminationGracePeriodSeconds, else 180)\n",
                 {{"--grace", "", true}},
                 1,
                 1,
                 [](const Invocation& in) { return run_action(in, "stop"); }});
    t.push_back(action("kill", "stop a VM at once (no guest shutdown)"));
    t.push_back(action("pause", "pause a VM's vCPUs"));
    t.push_back(action("resume", "resume a paused VM"));
    t.push_back(action("reset", "hard-reset a VM (like the reset button)"));
    t.push_back(action("reboot", "reboot a VM's guest (agent, else ACPI)"));
    t.push_back(
        {"argv",
         "argv NAME",
         "the QEMU command line qmd runs for a VM, one argument per line",
         "",
         {},
         1,
         1,
         [](const Invocation& in) {
           return finish(
               in, client_for(in).request("GET", "/v1/vms/" + url_escape(in.name()) + "/argv"),
               [](const json::value& v) {
                 std::cout << argv_lines(v);
                 const auto* w = v.is_object() ? v.as_object().if_contains("warnings") : nullptr;
                 if (w != nullptr && w->is_array()) {
                   for (const auto& x : w->as_array()) {
                     std::cerr << "warning: "
                               << (x.is_string() ? std::string(x.as_string()) : json::serialize(x))
                               << "\n";
                   }
                 }
               });
         }});
    t.push_back({"console",
                 "console NAME",
                 "attach to a VM's serial console",
                 "  In a terminal, Ctrl-] detaches. Over a pipe, EOF on stdin ends it.\n",
                 {},
                 1,
                 1,
                 [](const Invocation& in) { return console_attach(client_for(in), in.name()); }});
    t.push_back({"events",
                 "events [NAME] [--follow]",
                 "recent lifecycle events: TIME VM TYPE STATE MESSAGE",
                 "  -f, --follow   keep printing new events until interrupted\n",
                 {{"--follow", "-f", false}},
                 0,
                 1,
                 run_events});
    t.push_back({"logs",
                 "logs NAME [--lines N]",
                 "QEMU's own log (its stderr) for a VM",
                 "  -n, --lines N   only the last N lines\n",
                 {{"--lines", "-n", true}},
                 1,
                 1,
                 run_logs});
    return t;
  }();
  return table;
}

const Command* find(std::string_view name) {
  for (const auto& c : commands()) {
    if (c.name == name) {
      return &c;
    }
  }
  return nullptr;
}

}  // namespace

bool is_api_command(std::string_view name) { return find(name) != nullptr; }

std::string api_command_summary() {
  std::string out;
  for (const auto& c : commands()) {
    const std::string& usage = c.usage;
    out += "  " + usage + std::string(usage.size() < 26 ? 26 - usage.size() : 1, ' ') +
           std::string(c.summary) + "\n";
  }
  return out;
}

int cmd_api(std::string_view name, const std::vector<std::string>& args, GlobalFlags globals) {
  const Command* c = find(name);
  if (c == nullptr) {
    return 2;
  }
  auto in = parse(*c, args, std::move(globals));
  if (!in) {
    return usage_error(*c, in.error());
  }
  if (in->globals.help) {
    print_usage(*c, std::cout);
    return 0;
  }
  if ((c->name == "create" || c->name == "apply") && !in->has("--file")) {
    return usage_error(*c, "missing -f FILE");
  }
  if (in->has("--grace") && !number(in->value("--grace"))) {
    return usage_error(*c, "--grace takes a number of seconds");
  }
  if (in->has("--lines") && !number(in->value("--lines"))) {
    return usage_error(*c, "--lines takes a number");
  }
  return c->run(*in);
}

}  // namespace qmd::qmctl
