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
#include "daemon/qmctl/api_result.hpp"
#include "daemon/qmctl/args.hpp"
#include "daemon/qmctl/commands.hpp"

namespace qmd::qmctl {

namespace {

namespace json = boost::json;

std::optional<unsigned long> number(const std::string& text) {
  unsigned long n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc{} || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return n;
}

bool is_number(const std::string& text) { return number(text).has_value(); }

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
  auto client = client_for(in.globals);
  if (create) {
    const std::string target = in.has("--start") ? "/v1/vms?start=true" : "/v1/vms";
    return finish(in.globals, client.request("POST", target, body, type), say("created"));
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
  return finish(in.globals, client.request("PUT", "/v1/vms/" + url_escape(name), body, type),
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
  return finish(in.globals, client_for(in.globals, timeouts).request("POST", target), say(""));
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
  const auto response = client_for(in.globals).stream(target, on_chunk, !follow);
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
  return Command{{name, std::string(name) + " NAME", summary, "", {}, 1, 1},
                 [a = std::string(name)](const Invocation& in) { return run_action(in, a); }};
}

const Command* find(std::string_view name);

// create and apply: the file is not optional, though it is given as a flag.
int run_define_checked(const Invocation& in, bool create) {
  if (!in.has("--file")) {
    return usage_error(find(create ? "create" : "apply")->spec, kGlobalFlagsHelp,
                       "missing -f FILE");
  }
  return run_define(in, create);
}

// The command table: one entry per qmctl command (name, usage, handler), a list by design.
const std::vector<Command>& commands() {
  static const std::vector<Command> table = [] {
    std::vector<Command> t;
    t.reserve(20);
    t.push_back({{"host",
                  "host [--offline]",
                  "what this host offers (KVM, Hyper-V, OVMF, swtpm), as qmd sees it",
                  "  --offline   probe this host here instead of asking qmd (-o text|json)\n",
                  {{"--offline", "", false}},
                  0,
                  0},
                 [](const Invocation& in) {
                   return finish(in.globals, client_for(in.globals).request("GET", "/v1/host"),
                                 [](const json::value& v) { std::cout << pretty_json(v); });
                 }});
    t.push_back({{"list", "list", "the VMs qmd keeps: NAME STATE PID AGENT", "", {}, 0, 0},
                 [](const Invocation& in) {
                   return finish(in.globals, client_for(in.globals).request("GET", "/v1/vms"),
                                 [](const json::value& v) { std::cout << vm_table(v); });
                 }});
    t.push_back({{"show",
                  "show NAME",
                  "one VM: state, pid, agent, QEMU version, its uid, last error",
                  "  -o json shows the spec as given too (specText)\n",
                  {},
                  1,
                  1},
                 [](const Invocation& in) {
                   return finish(in.globals,
                                 client_for(in.globals).request("GET", "/v1/vms/" + url_escape(in.name())),
                                 [](const json::value& v) { std::cout << vm_details(v); });
                 }});
    t.push_back(
        {{"create",
          "create -f FILE [--start]",
          "define a VM from a spec file (YAML, or JSON when FILE ends in .json)",
          "  -f, --file FILE   the VirtualMachine spec\n  --start           start it right away\n",
          {{"--file", "-f", true}, {"--start", "", false}},
          0,
          0},
         [](const Invocation& in) { return run_define_checked(in, true); }});
    t.push_back({{"apply",
                  "apply -f FILE",
                  "update the definition of the VM the file names (metadata.name)",
                  "  -f, --file FILE   the VirtualMachine spec\n",
                  {{"--file", "-f", true}},
                  0,
                  0},
                 [](const Invocation& in) { return run_define_checked(in, false); }});
    t.push_back({{"delete",
                  "delete NAME [--force]",
                  "remove a VM's definition and state",
                  "  --force   also when it runs (it is killed first)\n",
                  {{"--force", "", false}},
                  1,
                  1},
                 [](const Invocation& in) {
                   const std::string target = "/v1/vms/" + url_escape(in.name()) +
                                              (in.has("--force") ? "?force=true" : "");
                   return finish(
                       in.globals, client_for(in.globals).request("DELETE", target),
                       [&](const json::value&) { std::cout << in.name() << ": deleted\n"; });
                 }});
    t.push_back(action("start", "start a VM"));
    t.push_back({{"stop",
                  "stop NAME [--grace S]",
                  "shut a VM down gracefully (guest agent, else ACPI), then harder",
                  "  --grace S   seconds to wait for the guest (default: the spec's\n"
                  "              terminationGracePeriodSeconds, else 180)\n",
                  {{"--grace", "", true, is_number, "--grace takes a number of seconds"}},
                  1,
                  1},
                 [](const Invocation& in) { return run_action(in, "stop"); }});
    t.push_back(action("kill", "stop a VM at once (no guest shutdown)"));
    t.push_back(action("pause", "pause a VM's vCPUs"));
    t.push_back(action("resume", "resume a paused VM"));
    t.push_back(action("reset", "hard-reset a VM (like the reset button)"));
    t.push_back(action("reboot", "reboot a VM's guest (agent, else ACPI)"));
    t.push_back(action("discard-saved",
                       "drop the state a host shutdown saved, so the next start boots afresh"));
    t.push_back(
        {{"argv",
          "argv NAME",
          "the QEMU command line qmd runs for a VM, one argument per line",
          "",
          {},
          1,
          1},
         [](const Invocation& in) {
           return finish(
               in.globals, client_for(in.globals).request("GET", "/v1/vms/" + url_escape(in.name()) + "/argv"),
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
    t.push_back({{"console",
                  "console NAME [--log]",
                  "attach to a VM's serial console, or print what it printed",
                  "  In a terminal, Ctrl-] detaches. Over a pipe, EOF on stdin ends it.\n"
                  "  --log   print the console's kept output (its last 1 MiB) and exit\n",
                  {{"--log", "", false}},
                  1,
                  1},
                 [](const Invocation& in) {
                   if (in.has("--log")) {
                     return run_stream(in, "/v1/vms/" + url_escape(in.name()) + "/console/log",
                                       false, false);
                   }
                   return console_attach(client_for(in.globals), in.name());
                 }});
    t.push_back({{"events",
                  "events [NAME] [--follow]",
                  "recent lifecycle events: TIME VM TYPE STATE MESSAGE",
                  "  -f, --follow   keep printing new events until interrupted\n",
                  {{"--follow", "-f", false}},
                  0,
                  1},
                 run_events});
    t.push_back({{"logs",
                  "logs NAME [--lines N]",
                  "QEMU's own log (its stderr) for a VM",
                  "  -n, --lines N   only the last N lines\n",
                  {{"--lines", "-n", true, is_number, "--lines takes a number"}},
                  1,
                  1},
                 run_logs});
    return t;
  }();
  return table;
}

const Command* find(std::string_view name) { return find_command(commands(), name); }

}  // namespace

bool is_api_command(std::string_view name) { return find(name) != nullptr; }

std::string api_command_summary() {
  std::string out;
  for (const auto& c : commands()) {
    out += summary_line(c.spec.usage, c.spec.summary);
  }
  return out;
}

int cmd_api(std::string_view name, const std::vector<std::string>& args, GlobalFlags globals) {
  const Command* c = find(name);
  if (c == nullptr) {
    return 2;
  }
  return run_command(c->spec, kGlobalFlagsHelp, args, std::move(globals), c->run);
}

}  // namespace qmd::qmctl
