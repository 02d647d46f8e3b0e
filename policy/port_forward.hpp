#pragma once
// A host port forwarded to a guest port (interfaces[].ports). The spec says which guest ports;
// the daemon picks the host port of each at start (the same number when it is free, else one
// from qmd.yaml's network.ports.range) and renders with its choice.
#include <cstdint>
#include <string>
#include <vector>

#include "policy/spec.hpp"

namespace qmd::policy {

struct PortForward {
  std::string interface;  // interfaces[].name
  std::string name;       // the port's name; empty when it has none
  std::string protocol;   // TCP|UDP
  std::uint16_t guest_port = 0;
  std::uint16_t host_port = 0;
  bool operator==(const PortForward&) const = default;
};

// Every port of every interface of `spec`, in spec order, each asking for its own number on
// the host. Ports out of range are left out (validation reports them).
std::vector<PortForward> wanted_forwards(const VmSpec& spec);

// The forwards of interface `iface`: the daemon's choice from `chosen` where it made one,
// else the wish (host port = guest port), for a render without a daemon (qmctl render).
std::vector<PortForward> interface_forwards(const VmSpec& spec, const std::string& iface,
                                            const std::vector<PortForward>& chosen);

}  // namespace qmd::policy
