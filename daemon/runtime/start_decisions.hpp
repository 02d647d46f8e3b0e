#pragma once
// What a start decides before and after its steps run (vm_start.cpp), as pure functions:
// where the guest comes from, whether it begins paused, and what a failure is.
#include <optional>
#include <string>
#include <string_view>

#include "daemon/runtime/op_error.hpp"

namespace qmd::daemon {

// Where this start's guest comes from: a fresh boot, a state saved to disk at host shutdown
// (through the same -incoming path as a migration), or another qmd's migration stream.
enum class StartFrom { boot, saved_state, migration };

StartFrom start_from(bool incoming, bool has_saved_state);

// Whether the vCPUs wait for `qmctl resume` once QEMU runs: startStrategy Paused for a boot,
// as it was saved for a restore. A migration's guest runs when the source hands it over.
bool starts_paused(StartFrom from, bool saved_paused, bool start_strategy_paused);

// Why a saved state cannot be restored into the QEMU command line rendered now (its digest
// differs from the saved one), naming what to do; nullopt when they match.
std::optional<std::string> saved_state_refusal(const std::string& vm, const std::string& saved_at,
                                               const std::string& argv_now,
                                               const std::string& argv_saved);

// A step of a start that failed, and QEMU's or the host's words for why.
struct StartFailure {
  std::string step;  // prepare, network, host, sidecars, qemu, qmp, pinning, incoming, ...
  std::string message;
};

// What the user reads of a failed start (kept in the record as its last error).
std::string describe(const std::string& vm, const StartFailure& failure);

// A failed start's error code: an image another VM holds writable is the caller's conflict,
// anything else qmd's failure.
OpError::Code start_failure_code(std::string_view described);

}  // namespace qmd::daemon
