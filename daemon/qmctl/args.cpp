#include "daemon/qmctl/args.hpp"

#include <algorithm>
#include <iostream>
#include <optional>

namespace qmd::qmctl {

const std::string_view kGlobalFlagsHelp =
    "Global flags (before or after the command):\n"
    "  -s, --socket PATH   qmd's API socket (default: $QMD_SOCKET, else <runDir>/qmd.sock)\n"
    "  -o json             print the API's JSON instead of text\n"
    "  -h, --help          this help\n";

namespace {

bool is_global_with_value(const std::string& arg) {
  return arg == "-s" || arg == "--socket" || arg == "-o" || arg == "--output";
}

// Names and required flags, once the flags are read.
std::optional<std::string> check_complete(const CommandSpec& spec, const Invocation& in) {
  if (in.names.size() < spec.min_names) {
    return in.names.empty() ? "missing NAME" : "missing arguments";
  }
  if (in.names.size() > spec.max_names) {
    return "unexpected argument \"" + in.names[spec.max_names] + "\"";
  }
  for (const auto& flag : spec.flags) {
    if (flag.required && !in.has(flag.name)) {
      return "missing " + std::string(flag.name);
    }
  }
  return std::nullopt;
}

}  // namespace

std::expected<Invocation, std::string> parse_args(const CommandSpec& spec,
                                                  const std::vector<std::string>& args,
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
      continue;
    }
    if (is_global_with_value(arg)) {
      const auto value = take_value();
      if (!value) {
        return std::unexpected(arg + " needs a value");
      }
      (arg == "-s" || arg == "--socket" ? in.globals.socket : in.globals.output) = *value;
      continue;
    }
    const auto flag = std::ranges::find_if(spec.flags, [&](const FlagSpec& f) {
      return arg == f.name || (!f.short_name.empty() && arg == f.short_name);
    });
    if (flag == spec.flags.end()) {
      return std::unexpected("unknown flag " + arg);
    }
    if (!flag->takes_value) {
      if (inline_value) {
        return std::unexpected(arg + " takes no value");
      }
      in.flags[std::string(flag->name)] = "";
      continue;
    }
    const auto value = take_value();
    if (!value) {
      return std::unexpected(arg + " needs a value");
    }
    if (flag->valid != nullptr && !flag->valid(*value)) {
      return std::unexpected(std::string(flag->wants));
    }
    in.flags[std::string(flag->name)] = *value;
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
  if (auto incomplete = check_complete(spec, in)) {
    return std::unexpected(std::move(*incomplete));
  }
  return in;
}

void print_usage(const CommandSpec& spec, std::string_view global_help, std::ostream& out) {
  out << "usage: qmctl " << spec.usage << "\n\n" << spec.summary << "\n";
  if (!spec.details.empty()) {
    out << "\n" << spec.details;
  }
  out << "\n" << global_help;
}

int usage_error(const CommandSpec& spec, std::string_view global_help, const std::string& what) {
  std::cerr << "qmctl " << spec.name << ": " << what << "\n";
  print_usage(spec, global_help, std::cerr);
  return 2;
}

int run_command(const CommandSpec& spec, std::string_view global_help,
                const std::vector<std::string>& args, GlobalFlags globals,
                const std::function<int(const Invocation&)>& run) {
  const auto in = parse_args(spec, args, std::move(globals));
  if (!in) {
    return usage_error(spec, global_help, in.error());
  }
  if (in->globals.help) {
    print_usage(spec, global_help, std::cout);
    return 0;
  }
  return run(*in);
}

std::string summary_line(std::string_view usage, std::string_view summary) {
  return "  " + std::string(usage) + std::string(usage.size() < 26 ? 26 - usage.size() : 1, ' ') +
         std::string(summary) + "\n";
}

const Command* find_command(const std::vector<Command>& table, std::string_view name) {
  for (const auto& command : table) {
    if (command.spec.name == name) {
      return &command;
    }
  }
  return nullptr;
}

}  // namespace qmd::qmctl
