// qmd.yaml's network.ports.range.
#include <doctest/doctest.h>

#include "daemon/config.hpp"

using qmd::daemon::parse_config;
using qmd::daemon::PortRange;

namespace {
std::string errors_of(const std::string& text) {
  auto config = parse_config(text, "qmd.yaml");
  return config ? "" : qmd::policy::to_string(config.error());
}
}  // namespace

TEST_CASE("no network.ports.range: no range") {
  CHECK(qmd::daemon::default_config().forward_ports == PortRange{});
  CHECK(parse_config("network: {}\n", "qmd.yaml")->forward_ports == PortRange{});
}

TEST_CASE("network.ports.range: low-high") {
  auto config = parse_config("network:\n  ports: {range: 20000-20999}\n", "qmd.yaml");
  REQUIRE(config);
  CHECK(config->forward_ports == PortRange{20000, 20999});
  CHECK(parse_config("network: {ports: {range: \"2000 - 2000\"}}\n", "qmd.yaml")->forward_ports ==
        PortRange{2000, 2000});
}

TEST_CASE("a bad network.ports.range names the key and its position") {
  for (const char* bad : {"20999-20000", "0-10", "20000-70000", "20000", "20000-20999x", "a-b"}) {
    CAPTURE(bad);
    CHECK(errors_of(std::string("network:\n  ports: {range: \"") + bad + "\"}\n") ==
          std::string("network.ports.range: \"") + bad +
              "\" is not a port range such as 20000-20999 (qmd.yaml:2:18)\n");
  }
  CHECK(errors_of("network:\n  ports: {rnage: 1-2}\n") ==
        "network.ports.rnage: unknown field \"rnage\" (did you mean \"range\"?) "
        "(qmd.yaml:2:11)\n");
}
