// qmctl's hotplug commands: attach/detach disks and interfaces, set the vCPU count, the
// memory size (virtio-mem) and the balloon target of a running VM.
#include <boost/json.hpp>
#include <charconv>
#include <functional>
#include <iostream>
#include <map>
#include <optional>

#include "daemon/config.hpp"
#include "daemon/qmctl/api_client.hpp"
#include "daemon/qmctl/api_output.hpp"
#include "daemon/qmctl/commands.hpp"

namespace qmd::qmctl {

namespace {

namespace json = boost::json;

struct Flag {
  std::string_view name;  // "--path"
  bool takes_value;
};

struct Invocation {
  GlobalFlags globals;
  std::vector<std::string> names;
  std::map<std::string, std::string> flags;
  bool has(std::string_view flag) const { return flags.contains(std::string(flag)); }
  std::string value(std::string_view flag) const {
    const auto it = flags.find(std::string(flag));
    return it == flags.end() ? std::string{} : it->second;
  }
};

struct Command {
  std::string_view name;
  std::string_view usage;
  std::string_view summary;
  std::string_view details;
  std::vector<Flag> flags;
  std::vector<std::string_view> required;  // flags that must be given
  std::size_t names;                       // positional arguments, exactly
  std::function<int(const Invocation&)> run;
};

const std::vector<Command>& commands();

void print_usage(const Command& c, std::ostream& out) {
  out << "usage: qmctl " << c.usage << "\n\n" << c.summary << "\n";
  if (!c.details.empty()) {
    out << "\n" << c.details;
  }
  out << "\nGlobal flags: -s SOCKET, -o json, -h\n";
}

int usage_error(const Command& c, const std::string& what) {
  std::cerr << "qmctl " << c.name << ": " << what << "\n";
  print_usage(c, std::cerr);
  return 2;
}

std::expected<Invocation, std::string> parse(const Command& c, const std::vector<std::string>& args,
                                             GlobalFlags globals) {
  Invocation in{std::move(globals), {}, {}};
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string arg = args[i];
    if (!arg.starts_with("-") || arg == "-") {
      in.names.push_back(arg);
      continue;
    }
    std::optional<std::string> inline_value;
    if (const auto eq = arg.find('='); arg.starts_with("--") && eq != std::string::npos) {
      inline_value = arg.substr(eq + 1);
      arg.resize(eq);
    }
    const auto take = [&]() -> std::optional<std::string> {
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
    if (arg == "-s" || arg == "--socket" || arg == "-o" || arg == "--output") {
      const auto v = take();
      if (!v) {
        return std::unexpected(arg + " needs a value");
      }
      (arg == "-s" || arg == "--socket" ? in.globals.socket : in.globals.output) = *v;
      continue;
    }
    const auto flag = std::ranges::find_if(c.flags, [&](const Flag& f) { return f.name == arg; });
    if (flag == c.flags.end()) {
      return std::unexpected("unknown flag " + arg);
    }
    if (flag->takes_value) {
      const auto v = take();
      if (!v) {
        return std::unexpected(arg + " needs a value");
      }
      in.flags[arg] = *v;
    } else if (inline_value) {
      return std::unexpected(arg + " takes no value");
    } else {
      in.flags[arg] = "";
    }
  }
  if (in.globals.output == "text") {
    in.globals.output.clear();
  }
  if (!in.globals.output.empty() && in.globals.output != "json") {
    return std::unexpected("-o takes json (or text)");
  }
  if (in.globals.help) {
    return in;
  }
  if (in.names.size() != c.names) {
    return std::unexpected(in.names.size() < c.names ? "missing arguments"
                                                     : "unexpected argument \"" +
                                                           in.names[c.names] + "\"");
  }
  for (const auto& flag : c.required) {
    if (!in.has(flag)) {
      return std::unexpected("missing " + std::string(flag));
    }
  }
  return in;
}

ApiClient client_for(const Invocation& in) {
  return ApiClient(in.globals.socket.empty() ? daemon::default_socket_path() : in.globals.socket);
}

int finish(const Invocation& in, const std::expected<ApiResponse, std::string>& response,
           const std::string& human) {
  if (!response) {
    std::cerr << "qmctl: " << response.error() << "\n";
    return 1;
  }
  if (response->status / 100 != 2) {
    std::cerr << "qmctl: " << error_message(*response) << "\n";
    return 1;
  }
  if (in.globals.output == "json") {
    boost::system::error_code ec;
    const auto value = json::parse(response->body, ec);
    std::cout << (ec ? response->body + "\n" : pretty_json(value));
  } else {
    std::cout << human << "\n";
  }
  return 0;
}

std::string vm_path(const Invocation& in, std::string_view rest) {
  return "/v1/vms/" + url_escape(in.names[0]) + std::string(rest);
}

std::string persist_query(const Invocation& in) {
  return in.has("--persist") ? "?persist=true" : "";
}

int attach_disk(const Invocation& in) {
  json::object body;
  body["name"] = in.value("--name");
  body["path"] = in.value("--path");
  if (in.has("--bus")) {
    body["bus"] = in.value("--bus");
  }
  if (in.has("--cache")) {
    body["cache"] = in.value("--cache");
  }
  if (in.has("--format")) {
    body["format"] = in.value("--format");
  }
  body["readonly"] = in.has("--readonly");
  body["persist"] = in.has("--persist");
  return finish(in,
                client_for(in).request("POST", vm_path(in, "/disks"), json::serialize(body),
                                       "application/json"),
                in.names[0] + ": disk " + in.value("--name") + " attached" +
                    (in.has("--persist") ? " (persisted)" : ""));
}

int attach_interface(const Invocation& in) {
  json::object body;
  body["name"] = in.value("--name");
  if (in.has("--binding")) {
    body["binding"] = in.value("--binding");
  }
  if (in.has("--network")) {
    body["network"] = in.value("--network");
  }
  if (in.has("--tap")) {
    body["tapName"] = in.value("--tap");
  }
  if (in.has("--mac")) {
    body["mac"] = in.value("--mac");
  }
  body["persist"] = in.has("--persist");
  return finish(in,
                client_for(in).request("POST", vm_path(in, "/interfaces"),
                                       json::serialize(body), "application/json"),
                in.names[0] + ": interface " + in.value("--name") + " attached" +
                    (in.has("--persist") ? " (persisted)" : ""));
}

int detach(const Invocation& in, std::string_view kind, std::string_view collection) {
  const std::string target = vm_path(in, "/" + std::string(collection) + "/") +
                             url_escape(in.names[1]) + persist_query(in);
  return finish(in, client_for(in).request("DELETE", target),
                in.names[0] + ": " + std::string(kind) + " " + in.names[1] + " detached" +
                    (in.has("--persist") ? " (persisted)" : ""));
}

int set_cpus(const Invocation& in) {
  unsigned long n = 0;
  const auto& text = in.names[1];
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc{} || end != text.data() + text.size()) {
    std::cerr << "qmctl set-cpus: \"" << text << "\" is not a number of vCPUs\n";
    return 2;
  }
  json::object body;
  body["count"] = n;
  return finish(in,
                client_for(in).request("PUT", vm_path(in, "/cpus"), json::serialize(body),
                                       "application/json"),
                in.names[0] + ": " + text + " vCPUs");
}

int set_size(const Invocation& in, std::string_view what) {
  json::object body;
  body["size"] = in.names[1];
  return finish(in,
                client_for(in).request("PUT", vm_path(in, "/" + std::string(what)),
                                       json::serialize(body), "application/json"),
                in.names[0] + ": " + std::string(what) + " " + in.names[1]);
}

const std::vector<Command>& commands() {
  static const std::vector<Command> table = {
      {"attach-disk",
       "attach-disk NAME --name N --path P [--bus virtio|scsi] [--readonly] [--cache C] "
       "[--persist]",
       "hot-add a disk image (raw or qcow2) to a running VM",
       "  --name N          the disk's name (its QEMU ids are disk-N, file-N, fmt-N)\n"
       "  --path P          the image file or block device (absolute)\n"
       "  --bus B           virtio (default) or scsi (needs a scsi disk in the definition)\n"
       "  --readonly        attach read-only\n"
       "  --cache C         none, writethrough or writeback\n"
       "  --format F        raw or qcow2 (default: from the file's first bytes)\n"
       "  --persist         also add the disk and its volume to the stored definition\n"
       "                    (rewritten YAML: comments in it are lost)\n",
       {{"--name", true},
        {"--path", true},
        {"--bus", true},
        {"--readonly", false},
        {"--cache", true},
        {"--format", true},
        {"--persist", false}},
       {"--name", "--path"},
       1,
       attach_disk},
      {"detach-disk",
       "detach-disk NAME DISK [--persist]",
       "hot-remove a disk: the guest must let go of it within 30 s",
       "  --persist   also remove the disk and its volume from the stored definition\n",
       {{"--persist", false}},
       {},
       2,
       [](const Invocation& in) { return detach(in, "disk", "disks"); }},
      {"attach-interface",
       "attach-interface NAME --name N [--binding user|tap|bridge] [--network NET] [--tap T] "
       "[--mac M] [--persist]",
       "hot-add a virtio NIC to a running VM",
       "  --name N       the interface's name (QEMU ids net-N, nic-N)\n"
       "  --binding B    user (default), tap (an existing host tap) or bridge\n"
       "  --network NET  bridge: the networkName qmd.yaml's bridges maps to a host bridge\n"
       "  --tap T        tap: the host tap's name\n"
       "  --mac M        the MAC (default: a stable one from the VM and interface names)\n"
       "  --persist      also add the interface and its network to the stored definition\n",
       {{"--name", true},
        {"--binding", true},
        {"--network", true},
        {"--tap", true},
        {"--mac", true},
        {"--persist", false}},
       {"--name"},
       1,
       attach_interface},
      {"detach-interface",
       "detach-interface NAME IFACE [--persist]",
       "hot-remove a NIC: the guest must let go of it within 30 s",
       "  --persist   also remove the interface and its network from the stored definition\n",
       {{"--persist", false}},
       {},
       2,
       [](const Invocation& in) { return detach(in, "interface", "interfaces"); }},
      {"set-cpus",
       "set-cpus NAME N",
       "plug or unplug vCPUs of a running VM, up to cpu.maxSockets",
       "",
       {},
       {},
       2,
       set_cpus},
      {"set-memory",
       "set-memory NAME SIZE",
       "resize a running VM's memory (virtio-mem) between memory.guest and memory.maxGuest",
       "  SIZE   the total, e.g. 1536Mi or 2Gi\n",
       {},
       {},
       2,
       [](const Invocation& in) { return set_size(in, "memory"); }},
      {"balloon",
       "balloon NAME SIZE",
       "set the balloon target of a running VM without virtio-mem",
       "  SIZE   the memory the guest should keep, e.g. 192Mi\n",
       {},
       {},
       2,
       [](const Invocation& in) { return set_size(in, "balloon"); }},
  };
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

bool is_hotplug_command(std::string_view name) { return find(name) != nullptr; }

std::string hotplug_command_summary() {
  std::string out;
  for (const auto& c : commands()) {
    // The usage up to its flags: those are in `qmctl COMMAND --help`.
    const std::string usage(c.usage.substr(0, std::min(c.usage.find(" --"), c.usage.find(" ["))));
    const std::string head = usage.size() < 26 ? usage : usage.substr(0, usage.find(' '));
    out += "  " + head + std::string(head.size() < 26 ? 26 - head.size() : 1, ' ') +
           std::string(c.summary) + "\n";
  }
  return out;
}

int cmd_hotplug(std::string_view name, const std::vector<std::string>& args,
                GlobalFlags globals) {
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
  return c->run(*in);
}

}  // namespace qmd::qmctl
