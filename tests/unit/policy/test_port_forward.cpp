#include <doctest/doctest.h>

#include "policy/port_forward.hpp"

using namespace qmd::policy;

namespace {
VmSpec two_nics() {
  VmSpec spec;
  InterfaceDevice a;
  a.name = "a";
  a.binding = "masquerade";
  a.ports = {{"ssh", 22, "TCP"}, {std::nullopt, 53, "UDP"}, {std::nullopt, 0, "TCP"}};
  InterfaceDevice b;
  b.name = "b";
  b.binding = "user";
  b.ports = {{"web", 80, "TCP"}};
  spec.domain.devices.interfaces = {a, b};
  return spec;
}
}  // namespace

TEST_CASE("no ports, no forwards") { CHECK(wanted_forwards(VmSpec{}).empty()); }

TEST_CASE("every port of every interface asks for its own number; bad numbers are left out") {
  CHECK(wanted_forwards(two_nics()) ==
        std::vector<PortForward>{{"a", "ssh", "TCP", 22, 22},
                                 {"a", "", "UDP", 53, 53},
                                 {"b", "web", "TCP", 80, 80}});
}

TEST_CASE("an interface's forwards take the daemon's choice where it made one") {
  const std::vector<PortForward> chosen{{"a", "ssh", "TCP", 22, 20022},
                                        {"b", "web", "TCP", 80, 20080}};
  CHECK(interface_forwards(two_nics(), "a", chosen) ==
        std::vector<PortForward>{{"a", "ssh", "TCP", 22, 20022}, {"a", "", "UDP", 53, 53}});
  CHECK(interface_forwards(two_nics(), "b", {}) ==
        std::vector<PortForward>{{"b", "web", "TCP", 80, 80}});
  CHECK(interface_forwards(two_nics(), "c", chosen).empty());
}
