#pragma once
// Host shutdown: every running guest is asked to power off at once (its agent, else ACPI),
// each within its own terminationGracePeriodSeconds and all within hostShutdown.timeout;
// what does not power off is killed and recorded. qmctl shutdown-guests asks for it (the
// ExecStop of qmd-guests.service), so a restart of qmd itself never touches a guest.
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <expected>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "daemon/config.hpp"
#include "daemon/runtime/context.hpp"
#include "daemon/runtime/event_bus.hpp"
#include "daemon/runtime/op_error.hpp"
#include "daemon/runtime/vm_state.hpp"

namespace qmd::daemon {

class Registry;

// The default grace when a spec has no terminationGracePeriodSeconds (what Vm::stop uses).
inline constexpr std::chrono::seconds kDefaultStopGrace{180};

// --- the pure decisions ---------------------------------------------------------------------

// What qmd knows about one VM when the host goes down.
struct ShutdownFacts {
  std::string name;
  VmState state = VmState::stopped;
  std::optional<std::chrono::seconds> grace;  // terminationGracePeriodSeconds
};

enum class ShutdownStep {
  power_off,             // agent or ACPI, then quit/SIGTERM/SIGKILL after the grace
  resume_and_power_off,  // paused: a guest whose vCPUs are stopped cannot hear the request
  await_migration,       // migrating: the migration may finish (the VM leaves) until timeout
  suspend,               // hostShutdown.action suspend: saved to disk, else powered off
};

struct ShutdownPlanEntry {
  std::string name;
  ShutdownStep step = ShutdownStep::power_off;
  std::chrono::seconds grace{0};  // min(own grace, timeout)
  bool operator==(const ShutdownPlanEntry&) const = default;
};

// Which VMs get what, by name. VMs without a QEMU (stopped, crashed, migrated) are left out,
// and so is everything when the action is none.
std::vector<ShutdownPlanEntry> plan_host_shutdown(const std::vector<ShutdownFacts>& vms,
                                                  const HostShutdownConfig& config);

// How long the whole shutdown may take before qmd stops waiting: the timeout plus what a stop
// needs after its grace (quit 5 s, SIGTERM 5 s, SIGKILL 10 s) and a margin.
std::chrono::seconds host_shutdown_deadline(const HostShutdownConfig& config);

enum class ShutdownOutcome {
  powered_off,  // the guest powered itself off when asked
  killed,       // it did not within its grace: QEMU was quit, terminated or killed
  migrated,     // a migration finished first: the VM runs on another host
  suspended,    // its state is saved to disk; the next start (at boot) restores it
  failed,       // still running when qmd stopped waiting, or the stop failed
};
std::string_view outcome_name(ShutdownOutcome outcome);

// What one VM's events said while it was being stopped.
struct StopObservation {
  std::string asked;       // "guest agent", "ACPI" (from ShutdownRequested), or ""
  std::string qemu_reason; // the SHUTDOWN event's reason ("guest-shutdown", "host-qmp-quit")
  bool escalated = false;  // StopEscalated: the grace ran out
  std::string suspended{};       // the Suspended event's message: where the state went
  std::string suspend_failed{};  // SuspendFailed: why it could not be saved (then powered off)
};
// Folds one event of the VM into `seen`.
void observe_stop_event(const Event& event, StopObservation& seen);

struct VmShutdownResult {
  std::string name;
  ShutdownOutcome outcome = ShutdownOutcome::failed;
  std::string how;     // "guest agent", "ACPI", "" (nothing was asked: it was not running)
  std::string detail;  // in words, for the log, the event and the record
  std::chrono::milliseconds took{0};
};
// The outcome from what was seen, the VM's state afterwards and the stop's own error.
VmShutdownResult classify_stop(const ShutdownPlanEntry& entry, const StopObservation& seen,
                               VmState after, const std::optional<std::string>& error);

// --- the run ----------------------------------------------------------------------------------

struct HostShutdownReport {
  std::string action;  // "shutdown", "suspend", "none"
  std::chrono::seconds timeout{0};
  std::string started_at;
  std::string finished_at;
  std::chrono::milliseconds took{0};
  std::vector<VmShutdownResult> vms;
  std::string record_path;   // where the report was written ("" when it could not be)
  std::string record_error;  // why it could not be
};
// The report as the stored record's text; the API layer's JSON, which is also its answer.
using ReportText = std::function<std::string(const HostShutdownReport&)>;

class HostShutdown {
 public:
  HostShutdown(DaemonContext& ctx, Registry& registry) : ctx_(ctx), registry_(registry) {}

  // Runs the plan for every VM in parallel and returns when each has ended or the deadline
  // passed; writes the report, as `text` has it, to <stateDir>/host-shutdown.json. Conflict
  // while one runs.
  asio::awaitable<std::expected<HostShutdownReport, OpError>> run(ReportText text);

 private:
  DaemonContext& ctx_;
  Registry& registry_;
  bool running_ = false;
};

}  // namespace qmd::daemon
