#pragma once
// The one argument parser of qmctl's daemon commands (cmd_api, cmd_guest, cmd_hotplug): global
// flags (-h, -s, -o) anywhere, --flag=V and --flag V, "--" ending the flags, positional names,
// and usage errors that name the flag and what it wants.
#include <cstddef>
#include <expected>
#include <functional>
#include <limits>
#include <map>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/qmctl/commands.hpp"

namespace qmd::qmctl {

inline constexpr bool kRequired = true;

struct FlagSpec {
  constexpr FlagSpec(std::string_view name, std::string_view short_name, bool takes_value,
                     bool required = false)
      : name(name), short_name(short_name), takes_value(takes_value), required(required) {}
  // A value `valid` refuses is a usage error saying `wants` ("--grace takes a number ...").
  constexpr FlagSpec(std::string_view name, std::string_view short_name, bool takes_value,
                     bool (*valid)(const std::string&), std::string_view wants)
      : name(name), short_name(short_name), takes_value(takes_value), valid(valid), wants(wants) {}

  std::string_view name;        // "--grace"
  std::string_view short_name;  // "-n", or ""
  bool takes_value = false;
  bool required = false;  // kRequired: "missing --name" without it
  bool (*valid)(const std::string&) = nullptr;
  std::string_view wants;
};

inline constexpr std::size_t kAnyNames = std::numeric_limits<std::size_t>::max();

// One command: its help text and what it accepts.
struct CommandSpec {
  std::string_view name;  // "stop"
  std::string usage;      // "stop NAME [--grace S]"
  std::string_view summary;
  std::string_view details;  // flags, more lines (may be empty)
  std::vector<FlagSpec> flags;
  std::size_t min_names = 0;
  std::size_t max_names = 0;  // kAnyNames: no limit (exec's guest command)
};

// What one command was given.
struct Invocation {
  GlobalFlags globals;
  std::vector<std::string> names;                         // positional arguments
  std::map<std::string, std::string, std::less<>> flags;  // by long name; "" for switches
  bool has(std::string_view flag) const { return flags.contains(flag); }
  std::string value(std::string_view flag) const {
    const auto it = flags.find(flag);
    return it == flags.end() ? std::string{} : it->second;
  }
  std::string name() const { return names.empty() ? std::string{} : names.front(); }
};

// One entry of a command table: what it accepts, and what it does.
struct Command {
  CommandSpec spec;
  std::function<int(const Invocation&)> run;
};
// The entry of `table` named `name`, or nullptr.
const Command* find_command(const std::vector<Command>& table, std::string_view name);

// The global flags' help, at the end of every command's usage.
extern const std::string_view kGlobalFlagsHelp;

// Parses `args` (after the command's name) against `spec`; the message on a usage error.
// With --help the names and kRequired flags are not checked.
std::expected<Invocation, std::string> parse_args(const CommandSpec& spec,
                                                  const std::vector<std::string>& args,
                                                  GlobalFlags globals);

void print_usage(const CommandSpec& spec, std::string_view global_help, std::ostream& out);
// "qmctl NAME: WHAT" and the usage on stderr; returns 2.
int usage_error(const CommandSpec& spec, std::string_view global_help, const std::string& what);

// Parses, prints help or a usage error, else runs `run`.
int run_command(const CommandSpec& spec, std::string_view global_help,
                const std::vector<std::string>& args, GlobalFlags globals,
                const std::function<int(const Invocation&)>& run);

// "  USAGE<padding>SUMMARY\n" for qmctl's own usage text.
std::string summary_line(std::string_view usage, std::string_view summary);

}  // namespace qmd::qmctl
