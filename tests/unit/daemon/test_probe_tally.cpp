// A probe's tally: Kubernetes' thresholds decide when readiness and liveness change.
#include <doctest/doctest.h>

#include "daemon/runtime/probe_tally.hpp"

using qmd::daemon::ProbeTally;

TEST_CASE("readiness: passes after successThreshold passes in a row, fails after failures") {
  qmd::policy::Probe probe;
  probe.success_threshold = 2;
  probe.failure_threshold = 3;
  ProbeTally tally;
  CHECK_FALSE(tally.count("nope", probe));  // failing already: no change
  CHECK_FALSE(tally.count("", probe));
  CHECK_FALSE(tally.passing);
  CHECK_FALSE(tally.count("nope", probe));  // a failure resets the passes
  CHECK_FALSE(tally.count("", probe));
  CHECK(tally.count("", probe));
  CHECK(tally.passing);
  CHECK(tally.successes == 2);
  CHECK_FALSE(tally.count("a", probe));
  CHECK_FALSE(tally.count("b", probe));
  CHECK_FALSE(tally.count("", probe));  // a pass resets the failures
  CHECK_FALSE(tally.count("c", probe));
  CHECK_FALSE(tally.count("d", probe));
  CHECK(tally.count("e", probe));
  CHECK_FALSE(tally.passing);
  CHECK(tally.failures == 3);
  CHECK(tally.last_result == "e");
  CHECK(tally.runs == 11);
}

TEST_CASE("liveness: starts alive and dies at failureThreshold") {
  qmd::policy::Probe probe;  // failureThreshold 3 by default
  ProbeTally tally;
  tally.passing = true;
  CHECK_FALSE(tally.count("x", probe));
  CHECK_FALSE(tally.count("x", probe));
  CHECK(tally.count("x", probe));
  CHECK_FALSE(tally.passing);
  CHECK(tally.last_result == "x");
}
