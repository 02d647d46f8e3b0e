// A tap binding may not open one of qmd's taps: its name form, or a port of a managed bridge.
#include <doctest/doctest.h>

#include "daemon/host/bridge_port.hpp"

using namespace qmd::daemon;

TEST_CASE("qmd's tap-name form is recognized, and only it") {
  CHECK(is_qmd_tap_name("tap-0123abcd"));
  CHECK_FALSE(is_qmd_tap_name("tap-0123ABCD"));
  CHECK_FALSE(is_qmd_tap_name("tap-0123abc"));
  CHECK_FALSE(is_qmd_tap_name("tap-0123abcde"));
  CHECK_FALSE(is_qmd_tap_name("mytap0"));
  CHECK_FALSE(is_qmd_tap_name("tap-0123abcg"));
}

TEST_CASE("a tap binding naming qmd's tap form is refused, naming interface and tap") {
  const auto refused = check_tap_binding("steal", "tap-0123abcd", {"qmd0"});
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error() ==
        "interface steal: tap tap-0123abcd has the form of the taps qmd makes for its VMs "
        "(tap- and 8 hex digits), which a tap binding may not open; name a tap of your own");
  CHECK(check_tap_binding("mine", "mytap0", {"qmd0"}).has_value());
}

TEST_CASE("interfaces on no bridge, and missing ones, have no bridge") {
  CHECK_FALSE(bridge_of("lo").has_value());
  CHECK_FALSE(bridge_of("qmd-no-such-if").has_value());
  CHECK_FALSE(bridge_of("../lo").has_value());
  CHECK(bridge_ports("qmd-no-such-br").empty());
  CHECK(leave_bridge("qmd-no-such-if").has_value());  // on none: nothing to do
}
