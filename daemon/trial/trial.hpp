#pragma once
// A trial start: prove that QEMU accepts a rendered VM without running any guest code.
// Prepares the files, runs the sidecars, starts QEMU (the argv has -S), asks query-status
// over QMP, quits, and removes every process and socket it made — on success and on failure.
#include <chrono>
#include <functional>
#include <string>

#include "cmdline/paths.hpp"
#include "cmdline/render.hpp"

namespace qmd::trial {

struct TrialResult {
  bool ok = false;
  std::string status;        // query-status: "prelaunch" when QEMU accepted the -S argv
  std::string error;         // "<step>: what failed" plus the QEMU stderr tail
  std::string qemu_log;      // QEMU's whole stdout/stderr
  std::string qemu_version;  // from the QMP greeting, "" when QEMU never answered
};

// Called with one line per step ("prepare: copy ...", "swtpm: started", ...).
using StepReporter = std::function<void(const std::string&)>;

// `timeout` bounds the whole trial. `paths.run_dir` must exist; logs (qemu.log, sidecar
// logs) stay there, sockets do not.
TrialResult trial_start(const cmdline::RenderResult& result, const cmdline::VmPaths& paths,
                        std::chrono::seconds timeout, const StepReporter& report = {});

}  // namespace qmd::trial
