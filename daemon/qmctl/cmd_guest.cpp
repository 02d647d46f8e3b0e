// qmctl's guest agent commands: guest, exec, guest-ping, set-password, freeze, thaw,
// sync-time. Each calls /v1/vms/NAME/guest[/...]; exec hands the guest's output and exit code
// on as qmctl's own.
#include <termios.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <charconv>
#include <functional>
#include <iostream>
#include <optional>

#include "daemon/config.hpp"
#include "daemon/qmctl/api_client.hpp"
#include "daemon/qmctl/api_output.hpp"
#include "daemon/qmctl/api_result.hpp"
#include "daemon/qmctl/args.hpp"
#include "daemon/qmctl/commands.hpp"
#include "qmp/qga_commands.hpp"

namespace qmd::qmctl {

namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

std::optional<unsigned long> seconds(const std::string& text) {
  unsigned long n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc{} || end != text.data() + text.size() || n == 0) {
    return std::nullopt;
  }
  return n;
}

bool is_seconds(const std::string& text) { return seconds(text).has_value(); }

// exec and freeze take the same --timeout.
const FlagSpec kTimeout{"--timeout", "", true, is_seconds,
                        "--timeout takes a number of seconds (1 or more)"};

ApiClient client_for(const Invocation& in, std::chrono::seconds request = 600s) {
  ApiTimeouts timeouts;
  timeouts.request = request;
  return qmctl::client_for(in.globals, timeouts);
}

std::string guest_path(const Invocation& in, std::string_view leaf = {}) {
  std::string target = "/v1/vms/" + url_escape(in.names.front()) + "/guest";
  if (!leaf.empty()) {
    target += "/";
    target += leaf;
  }
  return target;
}

const json::value* member(const json::value& v, std::string_view key) {
  return v.is_object() ? v.as_object().if_contains(key) : nullptr;
}

std::string text(const json::value* v) {
  if (v == nullptr || v->is_null()) {
    return "";
  }
  return v->is_string() ? std::string(v->as_string()) : json::serialize(*v);
}

// A field that is {"error": "..."} prints as "error: ...".
const json::value* field_error(const json::value* v) {
  return v != nullptr ? member(*v, "error") : nullptr;
}

void print_field(const char* key, const json::value* v,
                 const std::function<std::string(const json::value&)>& show) {
  if (v == nullptr) {
    return;
  }
  if (const auto* error = field_error(v)) {
    std::cout << key << ": error: " << text(error) << "\n";
    return;
  }
  std::cout << key << ": " << show(*v) << "\n";
}

void print_info(const json::value& info) {
  print_field("agent", member(info, "agent"), [](const json::value& agent) {
    const auto* commands = member(agent, "supportedCommands");
    return text(member(agent, "version")) + " (" +
           std::to_string(commands != nullptr && commands->is_array() ? commands->as_array().size()
                                                                      : 0) +
           " commands)";
  });
  print_field("os", member(info, "os"), [](const json::value& os) {
    std::string out = text(member(os, "prettyName"));
    if (out.empty()) {
      out = text(member(os, "name"));
    }
    if (!out.empty()) {
      out += ", ";
    }
    return out + "kernel " + text(member(os, "kernelRelease")) + " " + text(member(os, "machine"));
  });
  print_field("hostname", member(info, "hostname"), [](const json::value& v) { return text(&v); });
  print_field("timezone", member(info, "timezone"), [](const json::value& zone) {
    const std::string name = text(member(zone, "zone"));
    return (name.empty() ? "(no name)" : name) + " (UTC offset " +
           text(member(zone, "offsetSeconds")) + " s)";
  });
  print_field("users", member(info, "users"), [](const json::value& users) {
    std::string out;
    if (users.is_array()) {
      for (const auto& user : users.as_array()) {
        out += (out.empty() ? "" : ", ") + text(member(user, "user"));
      }
    }
    return out.empty() ? std::string("-") : out;
  });
  const auto* filesystems = member(info, "filesystems");
  if (filesystems != nullptr && filesystems->is_array()) {
    if (filesystems->as_array().empty()) {
      std::cout << "filesystems: -\n";
    }
    for (const auto& fs : filesystems->as_array()) {
      std::cout << "filesystem " << text(member(fs, "mountpoint")) << ": "
                << text(member(fs, "name")) << " " << text(member(fs, "type"));
      if (const auto used = text(member(fs, "usedBytes")); !used.empty()) {
        std::cout << ", " << used << " of " << text(member(fs, "totalBytes")) << " bytes used";
      }
      std::cout << "\n";
    }
  } else {
    print_field("filesystems", filesystems, [](const json::value& v) { return text(&v); });
  }
  const auto* interfaces = member(info, "interfaces");
  if (interfaces != nullptr && interfaces->is_array()) {
    for (const auto& nic : interfaces->as_array()) {
      std::string line = text(member(nic, "hardwareAddress"));
      const auto* addresses = member(nic, "ipAddresses");
      if (addresses != nullptr && addresses->is_array()) {
        for (const auto& ip : addresses->as_array()) {
          line += (line.empty() ? "" : ", ") + text(member(ip, "address")) + "/" +
                  text(member(ip, "prefix"));
        }
      }
      std::cout << "interface " << text(member(nic, "name")) << ": " << line << "\n";
    }
  } else {
    print_field("interfaces", interfaces, [](const json::value& v) { return text(&v); });
  }
  print_field("fsfreeze", member(info, "fsfreeze"), [](const json::value& v) { return text(&v); });
}

int run_exec(const Invocation& in) {
  if (in.names.size() < 2) {
    return fail("exec: missing the command to run (qmctl exec NAME -- CMD ARGS...)");
  }
  const unsigned long limit = in.has("--timeout") ? *seconds(in.value("--timeout")) : 30;
  json::object body;
  body["path"] = in.names[1];
  body["args"] = json::array(in.names.begin() + 2, in.names.end());
  body["timeoutSeconds"] = limit;
  // The daemon gives up after `limit`; allow it time to say so.
  const auto response =
      client_for(in, std::chrono::seconds(limit + 60))
          .request("POST", guest_path(in, "exec"), json::serialize(body), "application/json");
  if (!response) {
    return fail(response.error());
  }
  if (response->status / 100 != 2) {
    return fail(error_message(*response));
  }
  boost::system::error_code ec;
  const auto value = json::parse(response->body, ec);
  if (ec || !value.is_object()) {
    return fail("exec: qmd's answer is not a JSON object: " + response->body);
  }
  const auto* signal = member(value, "signal");
  const auto* exit_code = member(value, "exitCode");
  int status =
      exit_code != nullptr && exit_code->is_int64() ? static_cast<int>(exit_code->as_int64()) : 1;
  if (signal != nullptr && signal->is_int64()) {
    status = 128 + static_cast<int>(signal->as_int64());  // as a shell reports it
  }
  if (in.globals.output == "json") {
    std::cout << pretty_json(value);
    return status;
  }
  // The exact bytes when the output was not UTF-8 (the text has '?' for what was not).
  const auto bytes = [&](const std::string& key) {
    if (const auto* raw = member(value, key + "Base64"); raw != nullptr && raw->is_string()) {
      if (auto decoded = qmp::decode_base64(raw->as_string())) {
        return *decoded;
      }
    }
    return text(member(value, key));
  };
  std::cout << bytes("stdout") << std::flush;
  std::cerr << bytes("stderr");
  const auto* truncated = member(value, "truncated");
  if (truncated != nullptr && truncated->is_bool() && truncated->as_bool()) {
    std::cerr << "qmctl: the guest agent cut the output short (it keeps a limited amount)\n";
  }
  return status;
}

// One line from stdin, without its line ending; from a terminal, asked for with echo off.
std::optional<std::string> read_password(const std::string& user) {
  const bool terminal = isatty(STDIN_FILENO) != 0;
  termios saved{};
  if (terminal) {
    std::cerr << "password for " << user << ": " << std::flush;
    if (tcgetattr(STDIN_FILENO, &saved) == 0) {
      termios quiet = saved;
      quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
      tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
    }
  }
  std::string line;
  const bool got = static_cast<bool>(std::getline(std::cin, line));
  if (terminal) {
    tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    std::cerr << "\n";
  }
  if (!got && line.empty()) {
    return std::nullopt;
  }
  if (!line.empty() && line.back() == '\r') {
    line.pop_back();
  }
  return line;
}

int run_set_password(const Invocation& in) {
  const std::string& user = in.names[1];
  auto password = read_password(user);
  if (!password || password->empty()) {
    return fail(
        "set-password: no password on stdin (it is read from stdin, never from the "
        "command line)");
  }
  json::object body;
  body["user"] = user;
  body["password"] = std::move(*password);
  body["crypted"] = in.has("--crypted");
  return finish(in.globals,
                client_for(in).request("POST", guest_path(in, "password"), json::serialize(body),
                                       "application/json"),
                [&](const json::value&) {
                  std::cout << in.names.front() << ": password of " << user << " set\n";
                });
}

int run_freeze(const Invocation& in) {
  json::object body;
  if (in.has("--timeout")) {
    body["timeoutSeconds"] = *seconds(in.value("--timeout"));
  }
  return finish(in.globals,
                client_for(in).request("POST", guest_path(in, "freeze"), json::serialize(body),
                                       "application/json"),
                [&](const json::value& v) {
                  std::cout << in.names.front() << ": " << text(member(v, "frozen"))
                            << " file system(s) frozen; thawed automatically in "
                            << text(member(v, "autoThawSeconds")) << " s unless `qmctl thaw "
                            << in.names.front() << "` comes first\n";
                });
}

// POST with no body; `done` is printed after NAME.
int run_simple(const Invocation& in, std::string_view leaf,
               const std::function<std::string(const json::value&)>& done) {
  return finish(
      in.globals, client_for(in, 60s).request("POST", guest_path(in, leaf)),
      [&](const json::value& v) { std::cout << in.names.front() << ": " << done(v) << "\n"; });
}

const std::vector<Command>& guest_commands() {
  static const std::vector<Command> table = {
      {{"guest",
        "guest NAME",
        "OS, hostname, timezone, users, file systems, interfaces (agent)",
        "  A field the agent lacks or fails shows its error; -o json gives everything.\n",
        {},
        1,
        1},
       [](const Invocation& in) {
         return finish(in.globals, client_for(in, 120s).request("GET", guest_path(in)), print_info);
       }},
      {{"exec",
        "exec NAME [--timeout S] -- CMD [ARGS...]",
        "run CMD in the guest; its output and exit code are qmctl's",
        "  --timeout S   give up after S seconds (default 30; the process keeps running)\n"
        "  Exit status: the guest command's (128+N when killed by signal N); 1 when qmd fails.\n",
        {kTimeout},
        1,
        kAnyNames},
       run_exec},
      {{"guest-ping", "guest-ping NAME", "check that the guest agent answers", "", {}, 1, 1},
       [](const Invocation& in) {
         return run_simple(in, "ping",
                           [](const json::value&) { return "the guest agent answers"; });
       }},
      {{"set-password",
        "set-password NAME USER [--crypted]",
        "set a guest user's password, read from stdin",
        "  --crypted   the input is already a crypt(3) hash\n",
        {{"--crypted", "", false}},
        2,
        2},
       run_set_password},
      {{"freeze",
        "freeze NAME [--timeout S]",
        "freeze the guest's file systems; auto-thaw after S s (60)",
        "  --timeout S   thaw automatically after S seconds (default 60, at most 600)\n",
        {kTimeout},
        1,
        1},
       run_freeze},
      {{"thaw", "thaw NAME", "thaw the guest's file systems", "", {}, 1, 1},
       [](const Invocation& in) {
         return run_simple(in, "thaw", [](const json::value& v) {
           return text(member(v, "thawed")) + " file system(s) thawed";
         });
       }},
      {{"sync-time", "sync-time NAME", "set the guest clock to the host's", "", {}, 1, 1},
       [](const Invocation& in) {
         return run_simple(in, "time", [](const json::value&) { return "guest clock synced"; });
       }},
  };
  return table;
}

const Command* find_guest(std::string_view name) { return find_command(guest_commands(), name); }

}  // namespace

bool is_guest_command(std::string_view name) { return find_guest(name) != nullptr; }

std::string guest_command_summary() {
  std::string out;
  for (const auto& c : guest_commands()) {
    out += summary_line(c.spec.usage, c.spec.summary);
  }
  return out;
}

int cmd_guest(std::string_view name, const std::vector<std::string>& args, GlobalFlags globals) {
  const Command* c = find_guest(name);
  if (c == nullptr) {
    return 2;
  }
  return run_command(c->spec, kGlobalFlagsHelp, args, std::move(globals), c->run);
}

}  // namespace qmd::qmctl
