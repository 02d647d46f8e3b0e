#include "daemon/runtime/probe_tally.hpp"

namespace qmd::daemon {

bool ProbeTally::count(const std::string& failure, const policy::Probe& probe) {
  ++runs;
  last_result = failure.empty() ? std::string("passed") : failure;
  if (failure.empty()) {
    ++successes;
    failures = 0;
    if (!passing && successes >= probe.success_threshold) {
      passing = true;
      return true;
    }
    return false;
  }
  ++failures;
  successes = 0;
  if (passing && failures >= probe.failure_threshold) {
    passing = false;
    return true;
  }
  return false;
}

}  // namespace qmd::daemon
