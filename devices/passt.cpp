#include "devices/passt.hpp"

#include <fmt/format.h>

namespace qmd::devices {

namespace {

// "8080:80,2222:22": passt's HOST:GUEST list for one protocol; empty when none.
std::string port_list(const std::vector<policy::PortForward>& forwards,
                      const std::string& protocol) {
  std::string out;
  for (const auto& f : forwards) {
    if (f.protocol != protocol) {
      continue;
    }
    out += fmt::format("{}{}:{}", out.empty() ? "" : ",", f.host_port, f.guest_port);
  }
  return out;
}

}  // namespace

std::vector<std::string> passt_argv(const PasstParams& p) {
  std::vector<std::string> argv{p.binary,   "--foreground", "--quiet", "--one-off",
                                "--socket", p.socket,       "--pid",   p.pid_file};
  if (p.vm_network) {
    argv.insert(argv.end(), {"-a", policy::format_ipv4(p.vm_network->guest()), "-n",
                             std::to_string(p.vm_network->prefix), "-g",
                             policy::format_ipv4(p.vm_network->gateway())});
  }
  for (const auto& [flag, protocol] : {std::pair{"-t", "TCP"}, std::pair{"-u", "UDP"}}) {
    if (auto list = port_list(p.forwards, protocol); !list.empty()) {
      argv.push_back(flag);
      argv.push_back(std::move(list));
    }
  }
  return argv;
}

}  // namespace qmd::devices
