#pragma once
// Which action is legal in which VM state, answered in one place. Facts beyond the state
// (force, a saved state, a split migration) stay with the action that has them.
#include <array>
#include <string>
#include <string_view>

#include "daemon/runtime/vm_state.hpp"

namespace qmd::daemon {

enum class VmAction {
  start, stop, kill, pause, resume, reset, reboot, update, remove,
  hotplug,      // disks, NICs, vCPUs, memory, balloon
  guest_agent,  // exec, info, ping, password, freeze, thaw, time
  migrate,
  save,         // suspend to disk
  discard_saved,
};

inline constexpr std::array kVmActions{
    VmAction::start,  VmAction::stop,    VmAction::kill,        VmAction::pause,
    VmAction::resume, VmAction::reset,   VmAction::reboot,      VmAction::update,
    VmAction::remove, VmAction::hotplug, VmAction::guest_agent, VmAction::migrate,
    VmAction::save,   VmAction::discard_saved};
inline constexpr std::array kVmStates{VmState::stopped,      VmState::starting,
                                      VmState::running,      VmState::paused,
                                      VmState::shuttingdown, VmState::crashed,
                                      VmState::migrating,    VmState::migrated};

enum class Verdict {
  go,              // do it
  nothing_to_do,   // already so: succeed without acting (stop a stopped VM, pause a paused one)
  migration_busy,  // a migration holds the VM: refused until it ends
  needs_qemu,      // needs a running or paused VM
  needs_unpaused,  // the guest must run (its agent cannot answer while paused)
  needs_stopped,   // refused while a QEMU runs
  moved_away,      // it runs on another qmd now
};

constexpr std::string_view action_name(VmAction action) {
  switch (action) {
    case VmAction::start: return "start";
    case VmAction::stop: return "stop";
    case VmAction::kill: return "kill";
    case VmAction::pause: return "pause";
    case VmAction::resume: return "resume";
    case VmAction::reset: return "reset";
    case VmAction::reboot: return "reboot";
    case VmAction::update: return "update";
    case VmAction::remove: return "delete";
    case VmAction::hotplug: return "hotplug";
    case VmAction::guest_agent: return "the guest agent";
    case VmAction::migrate: return "migrate";
    case VmAction::save: return "save";
    case VmAction::discard_saved: return "discard-saved";
  }
  return "?";
}

// The rule for `action` in `state`.
Verdict verdict(VmAction action, VmState state);

// Why `action` (named `what` to the user: "attach-disk" for a hotplug) is refused for VM
// `vm`; `incoming`: the VM is the arriving side of a migration. Only for refusing verdicts.
std::string refusal(std::string_view vm, std::string_view what, VmState state, Verdict verdict,
                    bool incoming);

}  // namespace qmd::daemon
