// interfaces[].ports: KubeVirt's Port rules (name, number, protocol, no duplicates) and which
// bindings may forward ports at all.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <utility>

#include "policy/validate_rules.hpp"

namespace qmd::policy::rules {
namespace {

constexpr std::uint32_t kMaxPort = 65535;

// Kubernetes' IANA_SVC_NAME (RFC 6335): 1-15 of [a-z0-9-], at least one letter, no '-' at
// either end and no "--".
bool is_service_name(const std::string& name) {
  if (name.empty() || name.size() > 15 || name.front() == '-' || name.back() == '-' ||
      name.find("--") != std::string::npos) {
    return false;
  }
  const bool allowed = std::ranges::all_of(name, [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
  return allowed && std::ranges::any_of(name, [](char c) { return c >= 'a' && c <= 'z'; });
}

void validate_port(const VmSpec& spec, const std::string& at, const InterfacePort& port,
                   SpecErrors& errors) {
  if (port.name && !is_service_name(*port.name)) {
    errors.push_back(spec.source.error_at(
        at + ".name", fmt::format("\"{}\" is not a port name: use 1 to 15 lowercase letters, "
                                  "digits and '-' with at least one letter, no '-' at either "
                                  "end and no \"--\" (an IANA service name such as http)",
                                  *port.name)));
  }
  if (port.port < 1 || port.port > kMaxPort) {
    errors.push_back(spec.source.error_at(
        at + ".port", fmt::format("port {} is out of range; use 1 to {}", port.port, kMaxPort)));
  }
  if (port.protocol != "TCP" && port.protocol != "UDP") {
    errors.push_back(spec.source.error_at(
        at + ".protocol", fmt::format("\"{}\" is not a protocol ports forward; use TCP or UDP",
                                      port.protocol)));
  }
}

}  // namespace

void validate_ports(const VmSpec& spec, std::size_t i, const InterfaceDevice& nic,
                    SpecErrors& errors) {
  const std::string path = fmt::format("domain.devices.interfaces[{}].ports", i);
  if (nic.ports.empty()) {
    return;
  }
  if (nic.binding != "masquerade" && nic.binding != "user" && nic.binding != "passt") {
    errors.push_back(spec.source.error_at(
        path, fmt::format("interface \"{}\" is a {} binding, which forwards no ports: the "
                          "guest is reached at its own address; remove ports, or use "
                          "masquerade, user or passt",
                          nic.name, nic.binding)));
    return;
  }
  std::map<std::pair<std::uint32_t, std::string>, std::size_t> numbers;
  std::map<std::string, std::size_t> names;
  for (std::size_t j = 0; j < nic.ports.size(); ++j) {
    const auto& port = nic.ports[j];
    const std::string at = fmt::format("{}[{}]", path, j);
    validate_port(spec, at, port, errors);
    if (auto [it, fresh] = numbers.emplace(std::pair{port.port, port.protocol}, j); !fresh) {
      errors.push_back(spec.source.error_at(
          at + ".port", fmt::format("{} port {} is already forwarded by ports[{}]; remove one",
                                    port.protocol, port.port, it->second)));
    }
    if (!port.name) {
      continue;
    }
    if (auto [it, fresh] = names.emplace(*port.name, j); !fresh) {
      errors.push_back(spec.source.error_at(
          at + ".name",
          fmt::format("\"{}\" is already the name of ports[{}]", *port.name, it->second)));
    }
  }
}

}  // namespace qmd::policy::rules
