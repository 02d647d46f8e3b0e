// The host shutdown report, as POST /v1/host/shutdown-guests answers and host-shutdown.json
// keeps it, from the runtime's HostShutdownReport.
#include <doctest/doctest.h>

#include "daemon/api/host_shutdown_json.hpp"

using namespace qmd::daemon;
using std::chrono::milliseconds;

namespace {

HostShutdownReport report() {
  HostShutdownReport r;
  r.action = "shutdown";
  r.timeout = std::chrono::seconds{120};
  r.started_at = "2026-12-01T03:40:00.000Z";
  r.finished_at = "2026-12-01T03:40:05.000Z";
  r.took = milliseconds{5000};
  r.vms = {{.name = "web1",
            .outcome = ShutdownOutcome::powered_off,
            .how = "guest agent",
            .detail = "powered off",
            .took = milliseconds{3100}}};
  r.record_path = "/var/lib/qmd/host-shutdown.json";
  return r;
}

}  // namespace

TEST_CASE("a report that was kept names its record and each VM's fate") {
  CHECK(api::host_shutdown_text(report()) ==
        R"({"action":"shutdown","timeoutSeconds":120,"startedAt":"2026-12-01T03:40:00.000Z",)"
        R"("finishedAt":"2026-12-01T03:40:05.000Z","milliseconds":5000,)"
        R"("vms":[{"name":"web1","outcome":"poweredOff","how":"guest agent",)"
        R"("detail":"powered off","milliseconds":3100}],)"
        R"("record":"/var/lib/qmd/host-shutdown.json"})");
}

TEST_CASE("a report that could not be kept says why") {
  auto r = report();
  r.vms.clear();
  r.record_path.clear();
  r.record_error = "state dir is read-only";
  CHECK(api::host_shutdown_text(r) ==
        R"({"action":"shutdown","timeoutSeconds":120,"startedAt":"2026-12-01T03:40:00.000Z",)"
        R"("finishedAt":"2026-12-01T03:40:05.000Z","milliseconds":5000,"vms":[],"record":"",)"
        R"("recordError":"state dir is read-only"})");
}
