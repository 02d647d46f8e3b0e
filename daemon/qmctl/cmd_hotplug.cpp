// qmctl's hotplug commands: attach/detach disks and interfaces, set the vCPU count, the
// memory size (virtio-mem) and the balloon target of a running VM.
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

namespace qmd::qmctl {

namespace {

namespace json = boost::json;

// Shorter than the other commands' own: the hotplug usages are long already.
constexpr std::string_view kHotplugGlobalHelp = "Global flags: -s SOCKET, -o json, -h\n";

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
  return finish(in.globals,
                client_for(in.globals).request("POST", vm_path(in, "/disks"), json::serialize(body),
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
  return finish(in.globals,
                client_for(in.globals).request("POST", vm_path(in, "/interfaces"), json::serialize(body),
                                       "application/json"),
                in.names[0] + ": interface " + in.value("--name") + " attached" +
                    (in.has("--persist") ? " (persisted)" : ""));
}

int detach(const Invocation& in, std::string_view kind, std::string_view collection) {
  const std::string target = vm_path(in, "/" + std::string(collection) + "/") +
                             url_escape(in.names[1]) + persist_query(in);
  return finish(in.globals, client_for(in.globals).request("DELETE", target),
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
  body["persist"] = in.has("--persist");
  return finish(in.globals,
                client_for(in.globals).request("PUT", vm_path(in, "/cpus"), json::serialize(body),
                                       "application/json"),
                in.names[0] + ": " + text + " vCPUs" +
                    (in.has("--persist") ? " (persisted)" : ""));
}

int set_size(const Invocation& in, std::string_view what) {
  json::object body;
  body["size"] = in.names[1];
  if (in.has("--persist")) {
    body["persist"] = true;
  }
  return finish(in.globals,
                client_for(in.globals).request("PUT", vm_path(in, "/" + std::string(what)),
                                       json::serialize(body), "application/json"),
                in.names[0] + ": " + std::string(what) + " " + in.names[1] +
                    (in.has("--persist") ? " (persisted)" : ""));
}

const std::vector<Command>& commands() {
  static const std::vector<Command> table = {
      {{"attach-disk",
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
        {{"--name", "", true, kRequired},
         {"--path", "", true, kRequired},
         {"--bus", "", true},
         {"--readonly", "", false},
         {"--cache", "", true},
         {"--format", "", true},
         {"--persist", "", false}},
        1,
        1},
       attach_disk},
      {{"detach-disk",
        "detach-disk NAME DISK [--persist]",
        "hot-remove a disk: the guest must let go of it within 30 s",
        "  --persist   also remove the disk and its volume from the stored definition\n",
        {{"--persist", "", false}},
        2,
        2},
       [](const Invocation& in) { return detach(in, "disk", "disks"); }},
      {{"attach-interface",
        "attach-interface NAME --name N [--binding user|masquerade|tap|bridge] [--network NET] "
        "[--tap T] "
        "[--mac M] [--persist]",
        "hot-add a virtio NIC to a running VM",
        "  --name N       the interface's name (QEMU ids net-N, nic-N)\n"
        "  --binding B    user (default), masquerade (the NAT network), tap (an existing host "
        "tap) or bridge\n"
        "  --network NET  bridge: the networkName qmd.yaml's bridges maps to a host bridge\n"
        "  --tap T        tap: the host tap's name\n"
        "  --mac M        the MAC (default: a stable one from the VM and interface names)\n"
        "  --persist      also add the interface and its network to the stored definition\n",
        {{"--name", "", true, kRequired},
         {"--binding", "", true},
         {"--network", "", true},
         {"--tap", "", true},
         {"--mac", "", true},
         {"--persist", "", false}},
        1,
        1},
       attach_interface},
      {{"detach-interface",
        "detach-interface NAME IFACE [--persist]",
        "hot-remove a NIC: the guest must let go of it within 30 s",
        "  --persist   also remove the interface and its network from the stored definition\n",
        {{"--persist", "", false}},
        2,
        2},
       [](const Invocation& in) { return detach(in, "interface", "interfaces"); }},
      {{"set-cpus",
        "set-cpus NAME N [--persist]",
        "plug or unplug vCPUs of a running VM, up to cpu.maxSockets",
        "  --persist   also write the count (as cpu.sockets) into the stored definition\n",
        {{"--persist", "", false}},
        2,
        2},
       set_cpus},
      {{"set-memory",
        "set-memory NAME SIZE [--persist]",
        "resize a running VM's memory (virtio-mem) between memory.guest and memory.maxGuest",
        "  SIZE        the total, e.g. 1536Mi or 2Gi\n"
        "  --persist   also write it as memory.guest into the stored definition\n",
        {{"--persist", "", false}},
        2,
        2},
       [](const Invocation& in) { return set_size(in, "memory"); }},
      {{"balloon",
        "balloon NAME SIZE",
        "set the balloon target of a running VM without virtio-mem",
        "  SIZE   the memory the guest should keep, e.g. 192Mi\n",
        {},
        2,
        2},
       [](const Invocation& in) { return set_size(in, "balloon"); }},
  };
  return table;
}

const Command* find(std::string_view name) { return find_command(commands(), name); }

}  // namespace

bool is_hotplug_command(std::string_view name) { return find(name) != nullptr; }

std::string hotplug_command_summary() {
  std::string out;
  for (const auto& c : commands()) {
    // The usage up to its flags: those are in `qmctl COMMAND --help`.
    const std::string_view full = c.spec.usage;
    const std::string_view usage = full.substr(0, std::min(full.find(" --"), full.find(" [")));
    out +=
        summary_line(usage.size() < 26 ? usage : usage.substr(0, usage.find(' ')), c.spec.summary);
  }
  return out;
}

int cmd_hotplug(std::string_view name, const std::vector<std::string>& args, GlobalFlags globals) {
  const Command* c = find(name);
  if (c == nullptr) {
    return 2;
  }
  return run_command(c->spec, kHotplugGlobalHelp, args, std::move(globals), c->run);
}

}  // namespace qmd::qmctl
