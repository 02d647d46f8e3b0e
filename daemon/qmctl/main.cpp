// qmctl: the command-line client. Daemon commands talk to qmd over its API socket; render,
// validate, host --offline and trial work without a daemon.
#include <algorithm>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/qmctl/commands.hpp"
#include "qmd_version.hpp"

namespace {

constexpr std::string_view kUsageHead = R"(usage: qmctl [-s SOCKET] [-o json] COMMAND [ARGS]

Commands that talk to qmd:
)";

constexpr std::string_view kUsageTail = R"(
Commands that need no daemon:
  render FILE               print the QEMU argv for a VM spec (one argument per line; -o json|shell)
  validate FILE             check a VM spec and this host; exit 0, or print every error and exit 1
  host --offline            probe this host here: KVM, Hyper-V features, OVMF, swtpm (-o json)
  trial FILE                start the rendered VM paused in QEMU, check QMP answers, quit
  version                   print the version

Global flags (before or after the command):
  -s, --socket PATH         qmd's API socket (default: $QMD_SOCKET, else <runDir>/qmd.sock)
  -o json                   print the API's JSON instead of text
  -h, --help                help; `qmctl COMMAND --help` for one command

Flags of the commands that need no daemon (each overrides the config file):
  --config FILE                the daemon config (default /etc/qmd/qmd.yaml when it exists):
                               useEmulation, hyperv, stateDir, runDir, presetDir, qemuBinary,
                               bridges (multus networkName -> host bridge)
  --emulation                  run under TCG instead of KVM (KubeVirt's useEmulation)
  --hyperv strict|best-effort  refuse, or drop with a warning, Hyper-V features the host lacks
  --fake-host "kvm=yes ..."    render/validate for a described host instead of probing this one
  --run-dir DIR --state-dir DIR
                               this VM's own dirs (default <runDir>/vms/NAME, <stateDir>/vms/NAME)
  --preset-dir DIR             instancetypes and preferences (default presetDir when it exists)

Exit status: 0 ok, 1 error, 2 usage.
)";

void print_usage(std::ostream& out) {
  out << kUsageHead << qmd::qmctl::api_command_summary()
      << qmd::qmctl::hotplug_command_summary()
      << "\nLive migration:\n" << qmd::qmctl::migrate_command_summary()
      << "\nNAT network:\n" << qmd::qmctl::network_command_summary()
      << "\nHost shutdown:\n" << qmd::qmctl::host_shutdown_command_summary()
      << "\nScreen and media:\n" << qmd::qmctl::screen_command_summary()
      << "\nClaims and container disk images:\n" << qmd::qmctl::storage_command_summary()
      << "\nGuest agent commands (qemu-ga in the guest):\n"
      << qmd::qmctl::guest_command_summary() << kUsageTail;
}

// An offline command's own parser sees its arguments, with a leading "-o X" passed on.
int run_offline(int (*command)(int, char**), std::string_view name,
                const std::vector<std::string>& args, const std::string& output) {
  std::vector<std::string> owned{std::string(name)};
  if (!output.empty()) {
    owned.insert(owned.end(), {"-o", output});
  }
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "-s" || args[i] == "--socket") {
      ++i;  // a global flag that means nothing without a daemon
    } else if (!args[i].starts_with("--socket=")) {
      owned.push_back(args[i]);
    }
  }
  std::vector<char*> argv;
  for (auto& a : owned) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);
  return command(static_cast<int>(owned.size()), argv.data());
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  // Global flags before the command.
  qmd::qmctl::GlobalFlags globals;
  std::size_t i = 0;
  for (; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-h" || a == "--help") {
      globals.help = true;
    } else if ((a == "-s" || a == "--socket" || a == "-o" || a == "--output") &&
               i + 1 < args.size()) {
      (a == "-s" || a == "--socket" ? globals.socket : globals.output) = args[++i];
    } else if (a.starts_with("--socket=")) {
      globals.socket = a.substr(9);
    } else if (a.starts_with("--output=")) {
      globals.output = a.substr(9);
    } else {
      break;
    }
  }
  if (i == args.size()) {
    print_usage(globals.help ? std::cout : std::cerr);
    return globals.help ? 0 : 2;
  }
  const std::string cmd = args[i];
  std::vector<std::string> rest(args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
  if (cmd == "help" || cmd == "--version" || cmd == "version") {
    if (cmd == "help") {
      print_usage(std::cout);
    } else {
      std::cout << "qmctl " << QMD_VERSION << '\n';
    }
    return 0;
  }
  if (cmd == "host") {
    const auto offline = std::find(rest.begin(), rest.end(), "--offline");
    if (offline != rest.end()) {
      rest.erase(offline);
      return run_offline(cmd_host, cmd, rest, globals.output);
    }
  }
  if (cmd == "render" || cmd == "validate" || cmd == "trial") {
    const auto command = cmd == "render"     ? cmd_render
                         : cmd == "validate" ? cmd_validate
                                             : cmd_trial;
    if (globals.help) {
      rest.insert(rest.begin(), "--help");
    }
    return run_offline(command, cmd, rest, globals.output);
  }
  if (qmd::qmctl::is_api_command(cmd)) {
    return qmd::qmctl::cmd_api(cmd, rest, globals);
  }
  if (qmd::qmctl::is_hotplug_command(cmd)) {
    return qmd::qmctl::cmd_hotplug(cmd, rest, globals);
  }
  if (qmd::qmctl::is_migrate_command(cmd)) {
    return qmd::qmctl::cmd_migrate(cmd, rest, globals);
  }
  if (qmd::qmctl::is_storage_command(cmd)) {
    return qmd::qmctl::cmd_storage(cmd, rest, globals);
  }
  if (qmd::qmctl::is_network_command(cmd)) {
    return qmd::qmctl::cmd_network(rest, globals);
  }
  if (qmd::qmctl::is_host_shutdown_command(cmd)) {
    return qmd::qmctl::cmd_host_shutdown(rest, globals);
  }
  if (qmd::qmctl::is_screen_command(cmd)) {
    return qmd::qmctl::cmd_screen(cmd, rest, globals);
  }
  if (qmd::qmctl::is_guest_command(cmd)) {
    return qmd::qmctl::cmd_guest(cmd, rest, globals);
  }
  std::cerr << "qmctl: unknown command \"" << cmd << "\"\n";
  print_usage(std::cerr);
  return 2;
}
