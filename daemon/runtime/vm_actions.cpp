#include "daemon/runtime/vm_actions.hpp"

#include <fmt/format.h>

namespace qmd::daemon {

namespace {

bool has_qemu(VmState state) { return state == VmState::running || state == VmState::paused; }

// Actions that act on the running QEMU (pause, reset, hotplug, save, ...).
Verdict on_qemu(VmState state) { return has_qemu(state) ? Verdict::go : Verdict::needs_qemu; }

}  // namespace

Verdict verdict(VmAction action, VmState state) {
  // A migration holds the VM for the whole transfer; only kill cuts it short, and the guest
  // agent still reaches the guest, which runs on the source until the switch.
  if (state == VmState::migrating && action != VmAction::kill &&
      action != VmAction::guest_agent) {
    return Verdict::migration_busy;
  }
  switch (action) {
    case VmAction::start:
      return state == VmState::migrated ? Verdict::moved_away
             : is_active(state)         ? Verdict::needs_stopped
                                        : Verdict::go;
    case VmAction::stop:
    case VmAction::kill:
      return is_active(state) ? Verdict::go : Verdict::nothing_to_do;
    case VmAction::pause:
      return state == VmState::paused ? Verdict::nothing_to_do : on_qemu(state);
    case VmAction::resume:
      return state == VmState::running ? Verdict::nothing_to_do : on_qemu(state);
    case VmAction::reset:
    case VmAction::reboot:
    case VmAction::hotplug:
    case VmAction::migrate:
    case VmAction::save:
      return on_qemu(state);
    case VmAction::guest_agent:
      return state == VmState::paused ? Verdict::needs_unpaused
             : state == VmState::running || state == VmState::migrating ? Verdict::go
                                                                         : Verdict::needs_qemu;
    case VmAction::update:
      return Verdict::go;  // takes effect at the next start
    case VmAction::remove:
    case VmAction::discard_saved:
      return is_active(state) ? Verdict::needs_stopped : Verdict::go;
  }
  return Verdict::needs_qemu;
}

std::string refusal(std::string_view vm, std::string_view what, VmState state, Verdict verdict,
                    bool incoming) {
  const std::string_view now = state_name(state);
  switch (verdict) {
    case Verdict::migration_busy:
      return incoming ? fmt::format("VM {} is arriving by migration; {} waits until it has (or "
                                    "the source gives up)",
                                    vm, what)
                      : fmt::format("VM {} is migrating; {} waits until it is done (qmctl "
                                    "migrate-cancel {} stops the migration)",
                                    vm, what, vm);
    case Verdict::needs_qemu:
      if (state == VmState::starting) {
        return fmt::format("VM {} is starting; {} needs a running VM: try again once it runs",
                           vm, what);
      }
      return fmt::format("VM {} is {}; {} needs a running VM (qmctl start {})", vm, now, what,
                         vm);
    case Verdict::needs_unpaused:
      return fmt::format("VM {} is paused; {} cannot answer until it resumes (qmctl resume {})",
                         vm, what, vm);
    case Verdict::needs_stopped:
      if (what == "start") {
        return fmt::format("VM {} is already {}", vm, now);
      }
      return fmt::format("VM {} is {}; {} needs it stopped (qmctl stop {})", vm, now, what, vm);
    case Verdict::moved_away:
      return fmt::format("VM {} migrated away and runs on another qmd; {} here would run it "
                         "twice (qmctl delete {} forgets this record)",
                         vm, what, vm);
    case Verdict::go:
    case Verdict::nothing_to_do:
      break;
  }
  return fmt::format("VM {}: {} is allowed while {}", vm, what, now);
}

}  // namespace qmd::daemon
