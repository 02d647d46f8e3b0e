// interfaces[].ports from YAML through parse and validation: what a spec gets, and every
// error with its line:column.
#include <doctest/doctest.h>

#include <string>

#include "policy/parse.hpp"
#include "policy/validate.hpp"

using namespace qmd::policy;

namespace {

// Lines 1-8; the interface's own keys follow at line 9 (indent 8) and the networks after.
constexpr const char* kHead = R"(apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata: {name: t}
spec:
  domain:
    memory: {guest: 1Gi}
    devices:
      interfaces:
)";

std::string with_nic(const std::string& nic, const std::string& network = "pod: {}") {
  return std::string(kHead) + nic + "  networks: [{name: n, " + network + "}]\n";
}

// Parse errors, else validation errors ("" when valid).
std::string errors_of(const std::string& text, const RunPolicy& policy = {}) {
  auto spec = parse_spec(text, "vm.yaml");
  if (!spec) {
    return to_string(spec.error());
  }
  return to_string(validate_spec(apply_defaults(*spec), policy));
}

const std::string kAt = "spec.domain.devices.interfaces[0].ports";

}  // namespace

TEST_CASE("an interface without ports forwards nothing") {
  auto spec = parse_spec(with_nic("      - {name: n, masquerade: {}}\n"), "vm.yaml");
  REQUIRE(spec.has_value());
  CHECK(spec->domain.devices.interfaces[0].ports.empty());
  CHECK(spec->warnings.empty());
}

TEST_CASE("ports parse into name, number and protocol, TCP by default") {
  auto spec = parse_spec(with_nic("      - name: n\n        masquerade: {}\n        ports:\n"
                                  "        - {name: http, port: 80}\n"
                                  "        - {port: 53, protocol: UDP}\n"),
                         "vm.yaml");
  REQUIRE_MESSAGE(spec.has_value(), (spec ? "" : to_string(spec.error())));
  const auto& ports = spec->domain.devices.interfaces[0].ports;
  REQUIRE(ports.size() == 2);
  CHECK(ports[0] == InterfacePort{"http", 80, "TCP"});
  CHECK(ports[1] == InterfacePort{std::nullopt, 53, "UDP"});
  CHECK(spec->warnings.empty());
  CHECK(errors_of(with_nic("      - name: n\n        user: {}\n        ports: [{port: 22}]\n")) ==
        "");
}

TEST_CASE("parse errors in ports name the field and its position") {
  struct Row {
    const char* ports;
    const char* error;
  };
  const Row rows[] = {
      {"[{name: http}]", ".ports[0].port: missing required field \"port\" (vm.yaml:9:43)"},
      {"[{port: eighty}]",
       ".ports[0].port: expected an integer, got \"eighty\" (vm.yaml:9:50)"},
      {"[{port: -1}]",
       ".ports[0].port: expected an integer from 0 to 4294967295, got -1 (vm.yaml:9:50)"},
      {"[{port: 80, protocol: [TCP]}]",
       ".ports[0].protocol: expected a string, got a list (vm.yaml:9:64)"},
      {"[{port: 80, hostPort: 8080}]",
       ".ports[0].hostPort: unknown field \"hostPort\"; known fields here: name, port, protocol "
       "(vm.yaml:9:54)"},
      {"{port: 80}", ".ports: expected a list, got a mapping (vm.yaml:9:42)"},
  };
  for (const auto& row : rows) {
    CAPTURE(row.ports);
    const auto text = with_nic(std::string("      - {name: n, masquerade: {}, ports: ") +
                               row.ports + "}\n");
    CHECK(errors_of(text) == "spec.domain.devices.interfaces[0]" + std::string(row.error) + "\n");
  }
}

TEST_CASE("port values are checked against KubeVirt's rules") {
  struct Row {
    const char* ports;
    const char* error;
  };
  const Row rows[] = {
      {"[{port: 0}]", "[0].port: port 0 is out of range; use 1 to 65535 (vm.yaml:9:44)"},
      {"[{port: 65536}]", "[0].port: port 65536 is out of range; use 1 to 65535 (vm.yaml:9:44)"},
      {"[{port: 80, protocol: SCTP}]",
       "[0].protocol: \"SCTP\" is not a protocol ports forward; use TCP or UDP (vm.yaml:9:54)"},
      {"[{port: 80, protocol: tcp}]",
       "[0].protocol: \"tcp\" is not a protocol ports forward; use TCP or UDP (vm.yaml:9:54)"},
      {"[{port: 80, name: HTTP}]",
       "[0].name: \"HTTP\" is not a port name: use 1 to 15 lowercase letters, digits and '-' "
       "with at least one letter, no '-' at either end and no \"--\" (an IANA service name "
       "such as http) (vm.yaml:9:54)"},
      {"[{port: 80, name: 8080}]",
       "[0].name: \"8080\" is not a port name: use 1 to 15 lowercase letters, digits and '-' "
       "with at least one letter, no '-' at either end and no \"--\" (an IANA service name "
       "such as http) (vm.yaml:9:54)"},
      {"[{port: 80, name: a-very-long-name}]",
       "[0].name: \"a-very-long-name\" is not a port name: use 1 to 15 lowercase letters, "
       "digits and '-' with at least one letter, no '-' at either end and no \"--\" (an IANA "
       "service name such as http) (vm.yaml:9:54)"},
      {"[{port: 80}, {port: 80, protocol: TCP}]",
       "[1].port: TCP port 80 is already forwarded by ports[0]; remove one (vm.yaml:9:56)"},
      {"[{port: 80, name: web}, {port: 81, name: web}]",
       "[1].name: \"web\" is already the name of ports[0] (vm.yaml:9:77)"},
  };
  for (const auto& row : rows) {
    CAPTURE(row.ports);
    const auto text = with_nic(std::string("      - {name: n, masquerade: {}, ports: ") +
                               row.ports + "}\n");
    CHECK(errors_of(text) == kAt + row.error + "\n");
  }
}

TEST_CASE("the same number over TCP and UDP is two forwards") {
  CHECK(errors_of(with_nic("      - {name: n, masquerade: {}, ports: [{port: 53}, {port: 53, "
                           "protocol: UDP}]}\n")) == "");
}

TEST_CASE("bridge and tap bindings forward no ports") {
  RunPolicy policy;
  policy.bridges = {{"lan", "br0"}};
  CHECK(errors_of(with_nic("      - {name: n, bridge: {}, ports: [{port: 80}]}\n",
                           "multus: {networkName: lan}"),
                  policy) ==
        kAt + ": interface \"n\" is a bridge binding, which forwards no ports: the guest is "
              "reached at its own address; remove ports, or use masquerade, user or passt "
              "(vm.yaml:9:31)\n");
  CHECK(errors_of(with_nic("      - {name: n, tap: {name: t0}, ports: [{port: 80}]}\n",
                           "multus: {networkName: lan}"),
                  policy) ==
        kAt + ": interface \"n\" is a tap binding, which forwards no ports: the guest is "
              "reached at its own address; remove ports, or use masquerade, user or passt "
              "(vm.yaml:9:36)\n");
}

TEST_CASE("passt: a pod binding that forwards ports") {
  auto spec = parse_spec(with_nic("      - {name: n, passt: {}, ports: [{port: 22}]}\n"), "vm.yaml");
  REQUIRE_MESSAGE(spec.has_value(), (spec ? "" : to_string(spec.error())));
  CHECK(spec->domain.devices.interfaces[0].binding == "passt");
  CHECK(errors_of(with_nic("      - {name: n, passt: {}, ports: [{port: 22}]}\n")) == "");
  RunPolicy policy;
  policy.bridges = {{"lan", "br0"}};
  CHECK(errors_of(with_nic("      - {name: n, passt: {}}\n", "multus: {networkName: lan}"),
                  policy) ==
        "spec.domain.devices.interfaces[0].passt: passt works only on a pod network, and network "
        "\"n\" is multus; use bridge or tap (vm.yaml:9:19)\n");
}
