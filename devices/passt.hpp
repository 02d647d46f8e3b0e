#pragma once
// passt (Debian's `passt`): user-mode networking for an unprivileged qmd's masquerade
// interfaces, as KubeVirt's passt binding. One passt per interface listens on a Unix socket
// in the run dir; QEMU joins it with `-netdev stream` (QEMU >= 7.2). passt answers the
// guest's DHCP, DNS and NDP with the host's own addresses, and forwards the host ports of
// interfaces[].ports (`-t`/`-u HOST:GUEST`). It serves one QEMU and exits when QEMU goes
// (`--one-off`), and sandboxes itself (namespaces, its own seccomp filter).
#include <optional>
#include <string>
#include <vector>

#include "policy/port_forward.hpp"
#include "policy/vm_network_cidr.hpp"

namespace qmd::devices {

struct PasstParams {
  std::string binary = "/usr/bin/passt";
  std::string socket;    // the Unix socket QEMU connects to
  std::string pid_file;  // written by passt once it listens
  std::vector<policy::PortForward> forwards;  // this interface's, with their host ports
  // pod.vmNetworkCIDR: the guest's address (-a), prefix (-n) and gateway (-g) in it;
  // without it passt gives the guest the host's own.
  std::optional<policy::VmNetworkCidr> vm_network;
};

std::vector<std::string> passt_argv(const PasstParams& params);

}  // namespace qmd::devices
