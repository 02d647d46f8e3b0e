// The pure decisions of host shutdown and autostart: which VMs, in which order, what each
// stop's events mean.
#include <doctest/doctest.h>

#include "daemon/runtime/autostart.hpp"
#include "daemon/runtime/host_shutdown.hpp"

using namespace qmd::daemon;
using namespace std::chrono_literals;

namespace {

HostShutdownConfig shutdown_within(std::chrono::seconds timeout) {
  return HostShutdownConfig{.action = HostShutdownConfig::Action::shutdown, .timeout = timeout};
}

Event event(std::string type, std::string message) {
  return Event{std::chrono::system_clock::now(), "web", std::move(type), "shuttingdown",
               std::move(message)};
}

}  // namespace

TEST_CASE("no VM running adds nothing to the plan") {
  CHECK(plan_host_shutdown({}, shutdown_within(300s)).empty());
  const std::vector<ShutdownFacts> idle = {{"a", VmState::stopped, 30s},
                                           {"b", VmState::crashed, std::nullopt},
                                           {"c", VmState::migrated, 10s}};
  CHECK(plan_host_shutdown(idle, shutdown_within(300s)).empty());
}

TEST_CASE("action none plans nothing, whatever runs") {
  const std::vector<ShutdownFacts> vms = {{"a", VmState::running, 30s}};
  HostShutdownConfig none = shutdown_within(300s);
  none.action = HostShutdownConfig::Action::none;
  CHECK(plan_host_shutdown(vms, none).empty());
}

TEST_CASE("each running VM is powered off within its own grace, capped by the timeout") {
  const std::vector<ShutdownFacts> vms = {{"db", VmState::running, 600s},
                                          {"web", VmState::running, 30s},
                                          {"plain", VmState::running, std::nullopt},
                                          {"off", VmState::stopped, 30s}};
  const std::vector<ShutdownPlanEntry> want = {
      {.name = "db", .step = ShutdownStep::power_off, .grace = 300s},
      {.name = "web", .step = ShutdownStep::power_off, .grace = 30s},
      {.name = "plain", .step = ShutdownStep::power_off, .grace = 180s}};
  CHECK(plan_host_shutdown(vms, shutdown_within(300s)) == want);
  const std::vector<ShutdownPlanEntry> short_timeout = {
      {.name = "db", .step = ShutdownStep::power_off, .grace = 20s},
      {.name = "web", .step = ShutdownStep::power_off, .grace = 20s},
      {.name = "plain", .step = ShutdownStep::power_off, .grace = 20s}};
  CHECK(plan_host_shutdown(vms, shutdown_within(20s)) == short_timeout);
}

TEST_CASE("a paused VM is resumed first; a migrating one may finish its migration") {
  const std::vector<ShutdownFacts> vms = {{"p", VmState::paused, 30s},
                                          {"m", VmState::migrating, 30s},
                                          {"s", VmState::starting, 30s},
                                          {"d", VmState::shuttingdown, 30s}};
  const std::vector<ShutdownPlanEntry> want = {
      {.name = "p", .step = ShutdownStep::resume_and_power_off, .grace = 30s},
      {.name = "m", .step = ShutdownStep::await_migration, .grace = 30s},
      {.name = "s", .step = ShutdownStep::power_off, .grace = 30s},
      {.name = "d", .step = ShutdownStep::power_off, .grace = 30s}};
  CHECK(plan_host_shutdown(vms, shutdown_within(300s)) == want);
}

TEST_CASE("qmd waits the timeout plus what a stop needs after its grace") {
  CHECK(host_shutdown_deadline(shutdown_within(300s)) == 330s);
  CHECK(host_shutdown_deadline(shutdown_within(1s)) == 31s);
}

TEST_CASE("a stop's events: who was asked, QEMU's reason, an escalation") {
  StopObservation seen;
  observe_stop_event(event("StateChanged", "stop requested (grace 30 s)"), seen);
  CHECK(seen.asked.empty());
  observe_stop_event(event("ShutdownRequested",
                           "asked the guest to power off (guest agent shutdown)"), seen);
  CHECK(seen.asked == "guest agent");
  observe_stop_event(event("Shutdown", "QEMU shutting down (guest-shutdown)"), seen);
  CHECK(seen.qemu_reason == "guest-shutdown");
  CHECK_FALSE(seen.escalated);

  StopObservation acpi;
  observe_stop_event(event("ShutdownRequested", "asked the guest to power off (ACPI powerdown)"),
                     acpi);
  observe_stop_event(event("StopEscalated", "the guest did not power off within 3 s after "
                                            "ACPI powerdown; quitting QEMU"),
                     acpi);
  observe_stop_event(event("Shutdown", "QEMU shutting down (host-qmp-quit)"), acpi);
  CHECK(acpi.asked == "ACPI");
  CHECK(acpi.escalated);
  CHECK(acpi.qemu_reason == "host-qmp-quit");
}

TEST_CASE("the outcome of one stop") {
  const ShutdownPlanEntry entry{.name = "web", .step = ShutdownStep::power_off, .grace = 30s};
  const StopObservation agent{.asked = "guest agent", .qemu_reason = "guest-shutdown"};
  auto off = classify_stop(entry, agent, VmState::stopped, std::nullopt);
  CHECK(off.outcome == ShutdownOutcome::powered_off);
  CHECK(off.how == "guest agent");
  CHECK(off.detail == "powered off after guest agent (guest-shutdown)");

  const StopObservation ignored{.asked = "ACPI", .qemu_reason = "host-qmp-quit",
                                .escalated = true};
  auto killed = classify_stop(entry, ignored, VmState::stopped, std::nullopt);
  CHECK(killed.outcome == ShutdownOutcome::killed);
  CHECK(killed.detail == "did not power off within 30 s after ACPI; QEMU was ended "
                         "(host-qmp-quit)");

  auto still = classify_stop(entry, ignored, VmState::shuttingdown, std::nullopt);
  CHECK(still.outcome == ShutdownOutcome::failed);
  CHECK(still.detail == "still running when qmd stopped waiting");
  auto error = classify_stop(entry, ignored, VmState::running, std::string("QMP is gone"));
  CHECK(error.detail == "QMP is gone");

  auto gone = classify_stop(entry, StopObservation{}, VmState::migrated, std::nullopt);
  CHECK(gone.outcome == ShutdownOutcome::migrated);

  StopObservation quit_only;
  quit_only.qemu_reason = "host-qmp-quit";
  auto unasked = classify_stop(entry, quit_only, VmState::stopped, std::nullopt);
  CHECK(unasked.outcome == ShutdownOutcome::killed);
  CHECK(outcome_name(ShutdownOutcome::powered_off) == "poweredOff");
  CHECK(outcome_name(ShutdownOutcome::killed) == "killed");
}

TEST_CASE("suspend: running and paused VMs are saved, a migrating one may still leave") {
  const HostShutdownConfig suspend{.action = HostShutdownConfig::Action::suspend,
                                   .timeout = 120s};
  const std::vector<ShutdownFacts> vms = {{"a", VmState::running, 30s},
                                          {"b", VmState::paused, std::nullopt},
                                          {"c", VmState::migrating, 10s},
                                          {"d", VmState::stopped, 10s}};
  CHECK(plan_host_shutdown(vms, suspend) ==
        std::vector<ShutdownPlanEntry>{{"a", ShutdownStep::suspend, 30s},
                                       {"b", ShutdownStep::suspend, 120s},
                                       {"c", ShutdownStep::await_migration, 10s}});
}

TEST_CASE("the outcome of a suspend, and of one that fell back to a power-off") {
  const ShutdownPlanEntry entry{.name = "web", .step = ShutdownStep::suspend, .grace = 30s};
  StopObservation saved;
  observe_stop_event(event("Suspended", "memory and device state saved to /s (64 MiB)"), saved);
  observe_stop_event(event("Shutdown", "QEMU shutting down (host-qmp-quit)"), saved);
  auto done = classify_stop(entry, saved, VmState::stopped, std::nullopt);
  CHECK(done.outcome == ShutdownOutcome::suspended);
  CHECK(done.how == "saved to disk");
  CHECK(done.detail == "memory and device state saved to /s (64 MiB)");
  CHECK(outcome_name(done.outcome) == "suspended");

  StopObservation fell_back;
  observe_stop_event(event("SuspendFailed", "saving the VM's state failed: no space"), fell_back);
  observe_stop_event(event("ShutdownRequested", "asked the guest to power off (ACPI powerdown)"),
                     fell_back);
  observe_stop_event(event("Shutdown", "QEMU shutting down (guest-shutdown)"), fell_back);
  auto off = classify_stop(entry, fell_back, VmState::stopped, std::nullopt);
  CHECK(off.outcome == ShutdownOutcome::powered_off);
  CHECK(off.detail ==
        "saving the VM's state failed: no space; then powered off after ACPI (guest-shutdown)");
}

TEST_CASE("autostart without an order keeps the given order") {
  CHECK(autostart_order({}, {}).empty());
  CHECK(autostart_order({"a", "b", "c"}, {}) == std::vector<std::string>{"a", "b", "c"});
}

TEST_CASE("autostart: the listed VMs first, in the listed order, then the rest") {
  CHECK(autostart_order({"a", "b", "c", "d"}, {"d", "b"}) ==
        std::vector<std::string>{"d", "b", "a", "c"});
  // Listed but not to be started (running already, not Always, unknown): dropped.
  CHECK(autostart_order({"a", "c"}, {"x", "c", "b"}) == std::vector<std::string>{"c", "a"});
}

TEST_CASE("autostart.order names that qmd will not start are warned about") {
  CHECK(autostart_order_warnings({}, {"a"}, {"a"}).empty());
  CHECK(autostart_order_warnings({"a"}, {"a"}, {"a", "b"}).empty());
  const auto warnings = autostart_order_warnings({"x", "b"}, {"a"}, {"a", "b"});
  REQUIRE(warnings.size() == 2);
  CHECK(warnings[0] ==
        "autostart.order names x, which is not a VM here; define it or take it off the list");
  CHECK(warnings[1] == "autostart.order names b, whose runStrategy is not Always: qmd does not "
                       "start it by itself");
}
