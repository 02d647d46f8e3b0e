// qmctl's screen and media commands: vnc (a local relay to the VM's VNC server through qmd),
// screenshot (a PNG of the display), send-keys (key combinations on its keyboard) and cdrom
// (a disc in or out of a cdrom drive); resize-disk (online growth of a disk).
#include <fcntl.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <iostream>

#include "daemon/qmctl/api_client.hpp"
#include "daemon/qmctl/api_result.hpp"
#include "daemon/qmctl/args.hpp"
#include "daemon/qmctl/commands.hpp"
#include "daemon/qmctl/vnc_relay.hpp"

namespace qmd::qmctl {

namespace {

namespace json = boost::json;

std::string vm_path(const Invocation& in, std::string_view rest) {
  return "/v1/vms/" + url_escape(in.names[0]) + std::string(rest);
}

bool is_port(const std::string& text) {
  unsigned n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  return ec == std::errc{} && end == text.data() + text.size() && n <= 65535;
}

bool is_hold(const std::string& text) {
  unsigned n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  return ec == std::errc{} && end == text.data() + text.size() && n >= 1 && n <= 5000;
}

int vnc(const Invocation& in) {
  VncRelayOptions options;
  options.vm = in.names[0];
  options.unix_path = in.value("--unix");
  if (in.has("--port")) {
    options.port = static_cast<std::uint16_t>(std::stoul(in.value("--port")));
  }
  options.websocket = in.has("--websocket");
  options.once = in.has("--once");
  options.json = in.globals.output == "json";
  // Each session asks qmd once; an answer is quick, so a short bound keeps others moving.
  const auto client = client_for(in.globals, ApiTimeouts{std::chrono::seconds(5),
                                                         std::chrono::seconds(15)});
  return run_vnc_relay(client, options);
}

// Writes `data` to `path` ("-": stdout), replacing it.
std::optional<std::string> write_file(const std::string& path, const std::string& data) {
  const int fd = path == "-" ? STDOUT_FILENO
                             : ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return path + ": " + std::strerror(errno);
  }
  std::size_t done = 0;
  while (done < data.size()) {
    const auto n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      const std::string why = path + ": " + std::strerror(errno);
      if (fd != STDOUT_FILENO) {
        ::close(fd);
      }
      return why;
    }
    done += static_cast<std::size_t>(n);
  }
  if (fd != STDOUT_FILENO && ::close(fd) != 0) {
    return path + ": " + std::strerror(errno);
  }
  return std::nullopt;
}

int screenshot(const Invocation& in) {
  auto response = client_for(in.globals).request("GET", vm_path(in, "/screenshot"));
  if (!response) {
    return fail(response.error());
  }
  if (response->status != 200 || response->content_type != "image/png") {
    return fail(error_message(*response));
  }
  const std::string& file = in.names[1];
  if (auto failed = write_file(file, response->body)) {
    return fail(*failed);
  }
  if (file != "-") {
    std::cout << in.names[0] << ": screenshot in " << file << " (" << response->body.size()
              << " bytes)\n";
  }
  return 0;
}

int send_keys(const Invocation& in) {
  json::array keys;
  for (std::size_t i = 1; i < in.names.size(); ++i) {
    keys.push_back(json::string(in.names[i]));
  }
  json::object body{{"keys", std::move(keys)}};
  if (in.has("--hold")) {
    body["holdMs"] = std::stoul(in.value("--hold"));
  }
  return finish(in.globals,
                client_for(in.globals).request("POST", vm_path(in, "/send-keys"),
                                               json::serialize(body), "application/json"),
                in.names[0] + ": keys sent");
}

int cdrom(const Invocation& in) {
  const bool insert = in.has("--insert");
  if (insert == in.has("--eject")) {
    std::cerr << "qmctl cdrom: give one of --insert FILE and --eject\n";
    return 2;
  }
  const std::string target =
      vm_path(in, "/disks/" + url_escape(in.names[1]) + "/medium");
  const std::string persisted = in.has("--persist") ? " (persisted)" : "";
  if (!insert) {
    return finish(in.globals,
                  client_for(in.globals).request(
                      "DELETE", target + (in.has("--persist") ? "?persist=true" : "")),
                  in.names[0] + ": cdrom " + in.names[1] + " ejected" + persisted);
  }
  json::object body{{"path", in.value("--insert")}, {"persist", in.has("--persist")}};
  return finish(in.globals,
                client_for(in.globals).request("PUT", target, json::serialize(body),
                                               "application/json"),
                in.names[0] + ": cdrom " + in.names[1] + ": " + in.value("--insert") +
                    " inserted" + persisted);
}

int resize_disk(const Invocation& in) {
  json::object body{{"size", in.names[2]}, {"persist", in.has("--persist")}};
  return finish(in.globals,
                client_for(in.globals).request(
                    "PUT", vm_path(in, "/disks/" + url_escape(in.names[1]) + "/size"),
                    json::serialize(body), "application/json"),
                in.names[0] + ": disk " + in.names[1] + " is " + in.names[2] + " now" +
                    (in.has("--persist") ? " (persisted)" : ""));
}

const std::vector<Command>& commands() {
  static const std::vector<Command> table = {
      {{"vnc",
        "vnc NAME [--port P | --unix PATH] [--websocket] [--once]",
        "a local VNC listener relayed to the VM's screen through qmd; prints how to connect",
        "  --port P      TCP port on 127.0.0.1 (default: a free one)\n"
        "  --unix PATH   listen on a Unix socket (mode 0600) instead of TCP\n"
        "  --websocket   speak WebSocket (binary frames) for a browser's noVNC; its URL\n"
        "                carries a random path a web page cannot guess\n"
        "  --once        end after the first session\n"
        "Only your user (and root) may connect: other users' connections are refused.\n"
        "-o json prints where it listens as one JSON line.\n",
        {{"--port", "", true, is_port, "a TCP port (0 to 65535)"},
         {"--unix", "", true},
         {"--websocket", "", false},
         {"--once", "", false}},
        1,
        1},
       vnc},
      {{"screenshot",
        "screenshot NAME FILE.png",
        "save the VM's display as PNG (FILE \"-\": stdout)",
        "",
        {},
        2,
        2},
       screenshot},
      {{"cdrom",
        "cdrom NAME DISK --insert FILE | --eject [--persist]",
        "put a disc into a running VM's cdrom drive, or take it out",
        "  --insert FILE   the image (ISO or raw/qcow2), beneath a storage root; the drive's\n"
        "                  old disc goes (the tray opens even if the guest locked it)\n"
        "  --eject         leave the drive empty\n"
        "  --persist       also make it the definition's volume (or drop the volume)\n",
        {{"--insert", "", true}, {"--eject", "", false}, {"--persist", "", false}},
        2,
        2},
       cdrom},
      {{"resize-disk",
        "resize-disk NAME DISK SIZE [--persist]",
        "grow a running VM's disk (never shrink); the guest sees the new size at once",
        "  SIZE        the new size, above the present one: 20Gi, 512Mi, or bytes\n"
        "  --persist   also write it as the capacity of a volume qmd creates (hostDisk\n"
        "              DiskOrCreate, emptyDisk); other image files keep the size anyway\n",
        {{"--persist", "", false}},
        3,
        3},
       resize_disk},
      {{"send-keys",
        "send-keys NAME COMBO... [--hold MS]",
        "press key combinations on the VM's keyboard, one after another",
        "  COMBO     keys joined by dashes, QEMU's key names: ctrl-alt-delete, ctrl-alt-f2,\n"
        "            ret, esc, tab, a, shift-a, f12, meta_l (aliases: enter, del, win, ...)\n"
        "  --hold MS how long each combination is held (1 to 5000, default 100)\n",
        {{"--hold", "", true, is_hold, "milliseconds from 1 to 5000"}},
        2,
        kAnyNames},
       send_keys},
  };
  return table;
}

const Command* find(std::string_view name) { return find_command(commands(), name); }

}  // namespace

bool is_screen_command(std::string_view name) { return find(name) != nullptr; }

std::string screen_command_summary() {
  std::string out;
  for (const auto& c : commands()) {
    const std::string_view full = c.spec.usage;
    const std::string_view usage = full.substr(0, std::min(full.find(" --"), full.find(" [")));
    out += summary_line(usage, c.spec.summary);
  }
  return out;
}

int cmd_screen(std::string_view name, const std::vector<std::string>& args, GlobalFlags globals) {
  const Command* c = find(name);
  if (c == nullptr) {
    return 2;
  }
  return run_command(c->spec, kGlobalFlagsHelp, args, std::move(globals), c->run);
}

}  // namespace qmd::qmctl
