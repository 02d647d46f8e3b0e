#include <doctest/doctest.h>

#include "tests/unit/policy/test_validate_fixture.hpp"

using namespace qmd::policy;
using namespace qmd::policy::test;

namespace {
const std::string kTimer = "spec.template.spec.domain.clock.timer.";

Timer tick(const char* policy) {
  Timer t;
  t.tick_policy = policy;
  return t;
}
}  // namespace

TEST_CASE("a clock without timers has no errors") { CHECK(errors_of(minimal_vm()) == ""); }

TEST_CASE("utc and timezone exclude each other") {
  auto spec = minimal_vm();
  spec.domain.clock.timezone = "Europe/Berlin";
  CHECK(errors_of(spec) ==
        "spec.template.spec.domain.clock.timezone: cannot be combined with "
        "clock.utc; keep one of them (<spec>)\n");
  spec.domain.clock.utc_set = false;
  CHECK(errors_of(spec) == "");
}

TEST_CASE("tick policies are checked per timer") {
  auto spec = minimal_vm();
  spec.domain.clock.pit = tick("discard");
  spec.domain.clock.rtc = tick("catchup");
  spec.domain.clock.rtc->track = "guest";
  spec.domain.clock.hpet = tick("merge");
  spec.domain.clock.hyperv = Timer{};
  CHECK(errors_of(spec) == "");
  spec.domain.clock.pit = tick("merge");
  spec.domain.clock.rtc = tick("discard");
  spec.domain.clock.rtc->track = "host";
  spec.domain.clock.hpet = tick("slew");
  spec.domain.clock.kvm = tick("delay");
  CHECK(errors_of(spec) ==
        kTimer + "pit.tickPolicy: \"merge\" is not one of delay, catchup, discard (<spec>)\n" +
            kTimer + "rtc.tickPolicy: \"discard\" is not one of delay, catchup (<spec>)\n" +
            kTimer + "rtc.track: \"host\" is not one of guest, wall (<spec>)\n" + kTimer +
            "hpet.tickPolicy: \"slew\" is not one of delay, catchup, merge, discard (<spec>)\n" +
            kTimer +
            "kvm.tickPolicy: the kvm timer has no tick policy; remove tickPolicy "
            "(<spec>)\n");
}
