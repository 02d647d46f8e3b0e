// Interfaces and networks: pairing by name, models, MACs, and which binding fits which network.
#include <fmt/format.h>

#include <map>
#include <regex>

#include "policy/validate_rules.hpp"

namespace qmd::policy::rules {
namespace {

std::string nic_path(std::size_t i) { return fmt::format("domain.devices.interfaces[{}]", i); }
std::string net_path(std::size_t j) { return fmt::format("networks[{}]", j); }

void validate_mac(const VmSpec& spec, std::size_t i, const std::string& mac, SpecErrors& errors) {
  static const std::regex kMac("[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}");
  const auto rel = nic_path(i) + ".macAddress";
  if (!std::regex_match(mac, kMac)) {
    errors.push_back(spec.source.error_at(
        rel, fmt::format("\"{}\" is not a MAC address like 02:00:00:00:00:01", mac)));
  } else if (std::stoi(mac.substr(0, 2), nullptr, 16) & 1) {
    errors.push_back(spec.source.error_at(
        rel, fmt::format("\"{}\" is a multicast address; the first octet must be even", mac)));
  }
}

// The network an interface uses must suit its binding; bridges must be known to qmd.
void validate_binding(const VmSpec& spec, const RunPolicy& policy, std::size_t i,
                      const InterfaceDevice& nic, std::size_t j, SpecErrors& errors) {
  const auto& net = spec.networks[j];
  const auto rel = fmt::format("{}.{}", nic_path(i), nic.binding);
  const bool pod_binding =
      nic.binding == "masquerade" || nic.binding == "user" || nic.binding == "passt";
  if (pod_binding && net.kind != NetworkKind::pod) {
    errors.push_back(spec.source.error_at(
        rel, fmt::format("{} works only on a pod network, and network \"{}\" is multus; use "
                         "bridge or tap",
                         nic.binding, net.name)));
  } else if (!pod_binding && net.kind != NetworkKind::multus) {
    errors.push_back(spec.source.error_at(
        rel, fmt::format("{} needs a multus network naming a host bridge, and network \"{}\" is "
                         "the pod network; use masquerade, user or passt",
                         nic.binding, net.name)));
  } else if (nic.binding == "bridge" && !policy.bridges.contains(net.multus_network_name)) {
    errors.push_back(spec.source.error_at(
        net_path(j) + ".multus.networkName",
        fmt::format("\"{}\" is not a bridge qmd knows; add it under bridges: in qmd.yaml",
                    net.multus_network_name)));
  }
}

void validate_interfaces(const VmSpec& spec, const RunPolicy& policy, SpecErrors& errors) {
  const auto& dev = spec.domain.devices;
  std::map<std::string, std::size_t> seen;
  for (std::size_t i = 0; i < dev.interfaces.size(); ++i) {
    const auto& nic = dev.interfaces[i];
    if (auto [it, fresh] = seen.emplace(nic.name, i); !fresh) {
      errors.push_back(spec.source.error_at(
          nic_path(i) + ".name",
          fmt::format("\"{}\" is already the name of interfaces[{}]", nic.name, it->second)));
    }
    check_one_of(spec, nic_path(i) + ".model", nic.model,
                 {"virtio", "e1000e", "e1000", "rtl8139", "pcnet", "ne2k_pci"}, errors);
    if (nic.mac_address) {
      validate_mac(spec, i, *nic.mac_address, errors);
    }
    validate_ports(spec, i, nic, errors);
    std::optional<std::size_t> net;
    for (std::size_t j = 0; j < spec.networks.size() && !net; ++j) {
      if (spec.networks[j].name == nic.name) {
        net = j;
      }
    }
    if (!net) {
      errors.push_back(spec.source.error_at(
          nic_path(i) + ".name",
          fmt::format("interface \"{}\" has no network of the same name; add networks: - name: "
                      "{}",
                      nic.name, nic.name)));
    } else {
      validate_binding(spec, policy, i, nic, *net, errors);
    }
  }
  for (std::size_t j = 0; j < spec.networks.size(); ++j) {
    const auto& name = spec.networks[j].name;
    if (!seen.contains(name)) {
      errors.push_back(spec.source.error_at(
          net_path(j) + ".name",
          fmt::format("network \"{}\" is not used by any interface; add an interface named "
                      "\"{}\" or remove the network",
                      name, name)));
    }
  }
}

void validate_network_list(const VmSpec& spec, SpecErrors& errors) {
  std::map<std::string, std::size_t> names;
  std::optional<std::size_t> pod;
  for (std::size_t j = 0; j < spec.networks.size(); ++j) {
    const auto& net = spec.networks[j];
    if (auto [it, fresh] = names.emplace(net.name, j); !fresh) {
      errors.push_back(spec.source.error_at(
          net_path(j) + ".name",
          fmt::format("\"{}\" is already the name of networks[{}]", net.name, it->second)));
    }
    if (net.kind == NetworkKind::pod) {
      if (pod) {
        errors.push_back(spec.source.error_at(
            net_path(j) + ".pod",
            fmt::format("only one pod network is allowed (networks[{}] is one)", *pod)));
      } else {
        pod = j;
      }
    }
  }
}

}  // namespace

void validate_networks(const VmSpec& spec, const RunPolicy& policy, SpecErrors& errors) {
  validate_interfaces(spec, policy, errors);
  validate_network_list(spec, errors);
}

}  // namespace qmd::policy::rules
