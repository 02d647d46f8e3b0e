// The pure half of host shutdown: which VMs get what, and what happened to each.
#include <fmt/format.h>

#include <algorithm>

#include "daemon/runtime/host_shutdown.hpp"

namespace qmd::daemon {

using namespace std::chrono_literals;

std::vector<ShutdownPlanEntry> plan_host_shutdown(const std::vector<ShutdownFacts>& vms,
                                                  const HostShutdownConfig& config) {
  std::vector<ShutdownPlanEntry> plan;
  if (config.action == HostShutdownConfig::Action::none) {
    return plan;
  }
  for (const auto& vm : vms) {
    if (!is_active(vm.state)) {
      continue;  // no QEMU: nothing to lose
    }
    ShutdownStep step = ShutdownStep::power_off;
    if (config.action == HostShutdownConfig::Action::suspend &&
        (vm.state == VmState::running || vm.state == VmState::paused)) {
      step = ShutdownStep::suspend;
    } else if (vm.state == VmState::paused) {
      step = ShutdownStep::resume_and_power_off;
    } else if (vm.state == VmState::migrating) {
      step = ShutdownStep::await_migration;
    }
    const auto grace = std::min(vm.grace.value_or(kDefaultStopGrace), config.timeout);
    plan.push_back(ShutdownPlanEntry{.name = vm.name, .step = step, .grace = grace});
  }
  return plan;
}

std::chrono::seconds host_shutdown_deadline(const HostShutdownConfig& config) {
  return config.timeout + 30s;
}

std::string_view outcome_name(ShutdownOutcome outcome) {
  switch (outcome) {
    case ShutdownOutcome::powered_off: return "poweredOff";
    case ShutdownOutcome::killed: return "killed";
    case ShutdownOutcome::migrated: return "migrated";
    case ShutdownOutcome::suspended: return "suspended";
    case ShutdownOutcome::failed: return "failed";
  }
  return "failed";
}

// The messages are vm_stop.cpp's and vm_supervise.cpp's: "asked the guest to power off
// (guest agent shutdown)", "QEMU shutting down (guest-shutdown)".
void observe_stop_event(const Event& event, StopObservation& seen) {
  if (event.type == "ShutdownRequested") {
    if (event.message.find("guest agent") != std::string::npos) {
      seen.asked = "guest agent";
    } else if (event.message.find("ACPI") != std::string::npos) {
      seen.asked = "ACPI";
    }
  } else if (event.type == "StopEscalated") {
    seen.escalated = true;
  } else if (event.type == "Suspended") {
    seen.suspended = event.message;
  } else if (event.type == "SuspendFailed") {
    seen.suspend_failed = event.message;
  } else if (event.type == "Shutdown" || event.type == "StateChanged") {
    static constexpr std::string_view kPrefix = "QEMU shutting down (";
    if (event.message.starts_with(kPrefix) && event.message.ends_with(')')) {
      seen.qemu_reason =
          event.message.substr(kPrefix.size(), event.message.size() - kPrefix.size() - 1);
    }
  }
}

VmShutdownResult classify_stop(const ShutdownPlanEntry& entry, const StopObservation& seen,
                               VmState after, const std::optional<std::string>& error) {
  VmShutdownResult result;
  result.name = entry.name;
  result.how = seen.asked;
  const std::string reason = seen.qemu_reason.empty() ? "no SHUTDOWN event" : seen.qemu_reason;
  if (after == VmState::migrated) {
    result.outcome = ShutdownOutcome::migrated;
    result.detail = "a migration finished first: the VM runs on its destination";
  } else if (is_active(after)) {
    result.outcome = ShutdownOutcome::failed;
    result.detail = error ? *error : std::string("still running when qmd stopped waiting");
  } else if (!seen.suspended.empty()) {
    result.outcome = ShutdownOutcome::suspended;
    result.how = "saved to disk";
    result.detail = seen.suspended;
    return result;
  } else if (seen.escalated) {
    result.outcome = ShutdownOutcome::killed;
    result.detail = fmt::format("did not power off within {} s after {}; QEMU was ended ({})",
                                entry.grace.count(), seen.asked, reason);
  } else if (seen.asked.empty()) {
    result.outcome = ShutdownOutcome::killed;
    result.detail = fmt::format("the guest could not be asked (not running); QEMU was ended ({})",
                                reason);
  } else {
    result.outcome = ShutdownOutcome::powered_off;
    result.detail = fmt::format("powered off after {} ({})", seen.asked, reason);
  }
  if (!seen.suspend_failed.empty()) {
    result.detail = fmt::format("{}; then {}", seen.suspend_failed, result.detail);
  }
  return result;
}

}  // namespace qmd::daemon
