#pragma once
// A VM's lifecycle state as the API reports it.
#include <string_view>

namespace qmd::daemon {

// migrating: either side of a live migration in progress; migrated: the VM now runs on
// another qmd (its record says where) and this one keeps only the record.
enum class VmState {
  stopped, starting, running, paused, shuttingdown, crashed, migrating, migrated
};

constexpr std::string_view state_name(VmState state) {
  switch (state) {
    case VmState::stopped: return "stopped";
    case VmState::starting: return "starting";
    case VmState::running: return "running";
    case VmState::paused: return "paused";
    case VmState::shuttingdown: return "shuttingdown";
    case VmState::crashed: return "crashed";
    case VmState::migrating: return "migrating";
    case VmState::migrated: return "migrated";
  }
  return "stopped";
}

// Has a QEMU process (or is getting one).
constexpr bool is_active(VmState state) {
  return state != VmState::stopped && state != VmState::crashed && state != VmState::migrated;
}

}  // namespace qmd::daemon
