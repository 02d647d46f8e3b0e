#pragma once
// A probe's consecutive passes and failures, and whether it passes (Kubernetes' thresholds).
#include <cstdint>
#include <string>

#include "policy/spec.hpp"

namespace qmd::daemon {

struct ProbeTally {
  bool passing = false;         // readiness starts failing, liveness passing
  std::uint32_t successes = 0;  // in a row
  std::uint32_t failures = 0;   // in a row
  std::uint32_t runs = 0;
  std::string last_result;      // "passed", or why the last run failed; empty before the first
  std::string last_at;          // when the last run ended (UTC)

  // Counts one run (`failure` empty: it passed). True when `passing` changed.
  bool count(const std::string& failure, const policy::Probe& probe);
};

}  // namespace qmd::daemon
