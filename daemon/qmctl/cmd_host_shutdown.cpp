// qmctl shutdown-guests: power off every running guest for a host shutdown (the ExecStop of
// qmd-guests.service). Waits as long as qmd takes: hostShutdown.timeout bounds it there, and
// systemd's TimeoutStopSec here.
#include <fmt/format.h>

#include <boost/json.hpp>
#include <iostream>

#include "daemon/qmctl/api_client.hpp"
#include "daemon/qmctl/api_result.hpp"
#include "daemon/qmctl/args.hpp"
#include "daemon/qmctl/commands.hpp"

namespace qmd::qmctl {

namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

std::string text(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

double seconds(const json::object& o) {
  const auto* v = o.if_contains("milliseconds");
  return v != nullptr && v->is_int64() ? static_cast<double>(v->as_int64()) / 1000.0 : 0.0;
}

// One line per VM, then the total; true when no VM is left running.
bool print_report(const json::object& report) {
  bool all_ended = true;
  const auto* vms = report.if_contains("vms");
  std::size_t count = 0;
  if (vms != nullptr && vms->is_array()) {
    for (const auto& item : vms->as_array()) {
      if (!item.is_object()) {
        continue;
      }
      const auto& vm = item.as_object();
      ++count;
      all_ended = all_ended && text(vm, "outcome") != "failed";
      std::cout << fmt::format("{:<20} {:<11} {:>7.1f} s  {}\n", text(vm, "name"),
                               text(vm, "outcome"), seconds(vm), text(vm, "detail"));
    }
  }
  std::cout << fmt::format("{} VMs ({}) in {:.1f} s; report in {}\n", count,
                           text(report, "action"), seconds(report),
                           text(report, "record").empty() ? text(report, "recordError")
                                                          : text(report, "record"));
  return all_ended;
}

int shutdown_guests(const Invocation& in) {
  // hostShutdown.timeout is at most 24 h; qmd answers within it plus a margin.
  const ApiClient client = client_for(in.globals, ApiTimeouts{.request = 25h});
  const auto response = client.request("POST", "/v1/host/shutdown-guests");
  bool all_ended = true;
  const int code = finish(in.globals, response, [&all_ended](const json::value& value) {
    if (value.is_object()) {
      all_ended = print_report(value.as_object());
    }
  });
  return code != 0 ? code : (all_ended ? 0 : 1);
}

const CommandSpec& spec() {
  static const CommandSpec kSpec{
      "shutdown-guests",
      "shutdown-guests",
      "power off every running guest, as at host shutdown (root)",
      "Each guest is asked to power off (its agent, else ACPI) within its\n"
      "terminationGracePeriodSeconds, all at once; hostShutdown in qmd.yaml sets the action\n"
      "(shutdown, suspend: save to disk and restore at the next start, none) and the overall\n"
      "timeout (default 300s). What does not power off in\n"
      "time is ended and listed as killed. qmd-guests.service runs this when the host stops;\n"
      "a restart of qmd never does. Exit 1 when a VM was still running at the end.\n",
      {},
      0,
      0};
  return kSpec;
}

}  // namespace

bool is_host_shutdown_command(std::string_view name) { return name == "shutdown-guests"; }

std::string host_shutdown_command_summary() {
  return summary_line(spec().usage, spec().summary);
}

int cmd_host_shutdown(const std::vector<std::string>& args, GlobalFlags globals) {
  return run_command(spec(), kGlobalFlagsHelp, args, std::move(globals), shutdown_guests);
}

}  // namespace qmd::qmctl
