#include "daemon/qmctl/api_output.hpp"

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <fmt/format.h>
#include <vector>

namespace qmd::qmctl {

namespace json = boost::json;

namespace {

void pretty(const json::value& v, std::string& out, int indent) {
  const auto pad = [&](int n) { out.append(static_cast<std::size_t>(n) * 2, ' '); };
  if (v.is_object()) {
    const auto& o = v.as_object();
    if (o.empty()) {
      out += "{}";
      return;
    }
    out += "{\n";
    std::size_t i = 0;
    for (const auto& [key, member] : o) {
      pad(indent + 1);
      out += json::serialize(json::string(key)) + ": ";
      pretty(member, out, indent + 1);
      out += ++i < o.size() ? ",\n" : "\n";
    }
    pad(indent);
    out += '}';
  } else if (v.is_array()) {
    const auto& a = v.as_array();
    if (a.empty()) {
      out += "[]";
      return;
    }
    out += "[\n";
    for (std::size_t i = 0; i < a.size(); ++i) {
      pad(indent + 1);
      pretty(a[i], out, indent + 1);
      out += i + 1 < a.size() ? ",\n" : "\n";
    }
    pad(indent);
    out += ']';
  } else {
    out += json::serialize(v);
  }
}

// A scalar as people read it: strings bare, null as "-".
std::string text_of(const json::value* v) {
  if (v == nullptr || v->is_null()) {
    return "-";
  }
  if (v->is_string()) {
    const auto& s = v->as_string();
    return s.empty() ? "-" : std::string(s);
  }
  return json::serialize(*v);
}

const json::value* member(const json::value& v, std::string_view key) {
  return v.is_object() ? v.as_object().if_contains(key) : nullptr;
}

std::string agent_text(const json::value* agent) {
  if (agent == nullptr || !agent->is_object()) {
    return "-";
  }
  const auto* connected = member(*agent, "connected");
  if (connected == nullptr || !connected->is_bool() || !connected->as_bool()) {
    return "-";
  }
  const auto version = text_of(member(*agent, "version"));
  return version == "-" ? "connected" : version;
}

// "readiness probe: passing (5 runs, 3 passed in a row; last at T: passed)", one per probe.
std::string probes_text(const json::value& probes) {
  std::string out;
  for (const auto* kind : {"readiness", "liveness"}) {
    const auto* probe = member(probes, kind);
    if (probe == nullptr || !probe->is_object()) {
      continue;
    }
    const auto* passing = member(*probe, "passing");
    const bool up = passing != nullptr && passing->is_bool() && passing->as_bool();
    out += fmt::format("{} probe: {} ({} runs, {} passed and {} failed in a row", kind,
                       up ? "passing" : "failing", text_of(member(*probe, "runs")),
                       text_of(member(*probe, "successes")), text_of(member(*probe, "failures")));
    if (const auto at = text_of(member(*probe, "lastAt")); at != "-") {
      out += fmt::format("; last at {}: {}", at, text_of(member(*probe, "lastResult")));
    }
    out += ")\n";
  }
  return out;
}

// "port: TCP host 20022 -> guest 22 (interface default, ssh)", one a line.
std::string port_forwards_text(const json::array& forwards) {
  std::string out;
  for (const auto& f : forwards) {
    const auto name = text_of(member(f, "name"));
    out += "port: " + text_of(member(f, "protocol")) + " host " + text_of(member(f, "hostPort")) +
           " -> guest " + text_of(member(f, "guestPort")) + " (interface " +
           text_of(member(f, "interface")) + (name.empty() || name == "-" ? "" : ", " + name) +
           ")\n";
  }
  return out;
}

}  // namespace

std::string pretty_json(const json::value& value) {
  std::string out;
  pretty(value, out, 0);
  return out + '\n';
}

std::string vm_table(const json::value& list) {
  std::vector<std::array<std::string, 4>> rows{{"NAME", "STATE", "PID", "AGENT"}};
  const auto* vms = member(list, "vms");
  if (vms != nullptr && vms->is_array()) {
    for (const auto& vm : vms->as_array()) {
      rows.push_back({text_of(member(vm, "name")), text_of(member(vm, "state")),
                      text_of(member(vm, "pid")), agent_text(member(vm, "agent"))});
    }
  }
  std::array<std::size_t, 4> width{};
  for (const auto& row : rows) {
    for (std::size_t c = 0; c < row.size(); ++c) {
      width[c] = std::max(width[c], row[c].size());
    }
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t c = 0; c < row.size(); ++c) {
      line += row[c];
      if (c + 1 < row.size()) {
        line.append(width[c] - row[c].size() + 2, ' ');
      }
    }
    out += line + '\n';
  }
  return out;
}

std::string vm_details(const json::value& vm) {
  if (!vm.is_object()) {
    return pretty_json(vm);
  }
  std::string out;
  for (const auto& [key, value] : vm.as_object()) {
    if (key == "specText") {
      continue;
    }
    if (key == "agent" && value.is_object()) {
      const auto* connected = member(value, "connected");
      const bool up = connected != nullptr && connected->is_bool() && connected->as_bool();
      out += "agent: " + std::string(up ? "connected" : "not connected");
      if (up) {
        out += ", version " + text_of(member(value, "version"));
      }
      if (const auto seen = text_of(member(value, "lastSeen")); seen != "-") {
        out += ", last seen " + seen;
      }
      out += '\n';
      continue;
    }
    if (key == "natInterfaces" && value.is_array()) {  // one line per interface
      for (const auto& nic : value.as_array()) {
        const auto* ipv6 = member(nic, "ipv6Address");
        const bool has_ipv6 = ipv6 != nullptr && ipv6->is_string();
        out += "nat " + text_of(member(nic, "name")) + ": " + text_of(member(nic, "ipAddress")) +
               (has_ipv6 ? " " + text_of(ipv6) : std::string()) + " (mac " + text_of(member(nic, "mac")) + ", bridge " +
               text_of(member(nic, "bridge")) + ")\n";
      }
      continue;
    }
    if (key == "probes" && value.is_object()) {
      out += probes_text(value);
      continue;
    }
    if (key == "portForwards" && value.is_array()) {
      out += port_forwards_text(value.as_array());
      continue;
    }
    out += std::string(key) + ": " + text_of(&value) + '\n';
  }
  return out;
}

std::string event_line(const json::value& event) {
  std::string line;
  for (const auto* key : {"time", "vm", "type", "state", "message"}) {
    line += (line.empty() ? "" : " ") + text_of(member(event, key));
  }
  return line + '\n';
}

std::string argv_lines(const json::value& argv) {
  std::string out = text_of(member(argv, "binary")) + '\n';
  const auto* args = member(argv, "argv");
  if (args != nullptr && args->is_array()) {
    for (const auto& a : args->as_array()) {
      out += (a.is_string() ? std::string(a.as_string()) : json::serialize(a)) + '\n';
    }
  }
  return out;
}

}  // namespace qmd::qmctl
