#pragma once
// qmctl subcommands: each takes the arguments after its name (argv[0] is the subcommand)
// and returns the process exit code: 0 ok, 1 error, 2 usage.
#include <string>
#include <string_view>
#include <vector>

// Commands that need no daemon (cmd_render.cpp, cmd_trial.cpp).

// qmctl trial FILE [common flags] [--timeout S] [--scratch-disks]: start the rendered VM
// paused in QEMU, check QMP answers "prelaunch", quit, leave nothing behind.
int cmd_trial(int argc, char** argv);

// qmctl render FILE [--emulation] [--hyperv strict|best-effort] [-o args|json|shell] ...
int cmd_render(int argc, char** argv);
// qmctl validate FILE [...]: exit 0, or every error and exit 1
int cmd_validate(int argc, char** argv);
// qmctl host --offline [-o text|json]: probe this host without asking qmd
int cmd_host(int argc, char** argv);

namespace qmd::qmctl {

class ApiClient;

// Flags every daemon command takes, before or after its name.
struct GlobalFlags {
  std::string socket;  // -s/--socket; empty: daemon::default_socket_path()
  std::string output;  // -o: "" (for people) or "json"
  bool help = false;   // -h/--help
};

// Commands that talk to qmd over its API (cmd_api.cpp).
bool is_api_command(std::string_view name);
// `args` are the arguments after the command name; global flags among them are honoured.
int cmd_api(std::string_view name, const std::vector<std::string>& args, GlobalFlags globals);
// The one-line summaries of the daemon commands, for qmctl's own usage text.
std::string api_command_summary();

// Guest agent commands (cmd_guest.cpp): guest, exec, guest-ping, set-password, freeze, thaw,
// sync-time. Same contract as cmd_api; exec exits with the guest command's status.
bool is_guest_command(std::string_view name);
int cmd_guest(std::string_view name, const std::vector<std::string>& args, GlobalFlags globals);
std::string guest_command_summary();

// qmctl console NAME (cmd_console.cpp): attach the terminal (or a pipe) to the VM's serial
// console until Ctrl-] (a terminal) or EOF on stdin.
int console_attach(const ApiClient& client, const std::string& name);

// Hotplug commands (cmd_hotplug.cpp): attach-disk, detach-disk, attach-interface,
// detach-interface, set-cpus, set-memory, balloon.
bool is_hotplug_command(std::string_view name);
int cmd_hotplug(std::string_view name, const std::vector<std::string>& args, GlobalFlags globals);
std::string hotplug_command_summary();

// Live migration commands (cmd_migrate.cpp): migrate, migrate-cancel, operations.
bool is_migrate_command(std::string_view name);
int cmd_migrate(std::string_view name, const std::vector<std::string>& args, GlobalFlags globals);
std::string migrate_command_summary();
// Storage commands (cmd_volume.cpp): volume create|list|delete|resize, image
// import|list|delete. `name` is "volume" or "image"; args[0] is the subcommand.
bool is_storage_command(std::string_view name);
int cmd_storage(std::string_view name, const std::vector<std::string>& args, GlobalFlags globals);
std::string storage_command_summary();
// qmctl shutdown-guests (cmd_host_shutdown.cpp): every guest powered off, as at host shutdown.
bool is_host_shutdown_command(std::string_view name);
int cmd_host_shutdown(const std::vector<std::string>& args, GlobalFlags globals);
std::string host_shutdown_command_summary();

// qmctl network [down] (cmd_network.cpp): the managed NAT network, and its removal.
bool is_network_command(std::string_view name);
int cmd_network(const std::vector<std::string>& args, GlobalFlags globals);
std::string network_command_summary();

// Screen and media commands (cmd_screen.cpp): vnc, screenshot, send-keys, cdrom,
// resize-disk.
bool is_screen_command(std::string_view name);
int cmd_screen(std::string_view name, const std::vector<std::string>& args, GlobalFlags globals);
std::string screen_command_summary();

// qmctl stdio-proxy (stdio_proxy.cpp): relays one API connection over stdin/stdout (what a
// qmd on another host runs through ssh). Returns the exit code.
int stdio_proxy(const std::string& socket_path);

}  // namespace qmd::qmctl
