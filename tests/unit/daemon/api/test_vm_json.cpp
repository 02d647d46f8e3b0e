// The API's JSON views of a VM, built from the runtime's structs (no QEMU, no Vm): whole
// documents compared, so a field that moves or changes its type shows.
#include <doctest/doctest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "daemon/api/vm_json.hpp"

namespace json = boost::json;
using namespace qmd::daemon;

namespace {

VmSummary stopped_summary() {
  return VmSummary{.name = "web1", .state = "Stopped", .run_strategy = "Manual"};
}

VmDetails stopped_details() {
  return VmDetails{.summary = stopped_summary(),
                   .uuid = "5f2b0c3e-1111-4222-8333-444455556666",
                   .created_at = "2026-12-01T03:40:00.123Z",
                   .spec_text = "kind: VirtualMachine\n"};
}

}  // namespace

TEST_CASE("a stopped VM's list entry has a null pid and no agent") {
  CHECK(json::serialize(api::to_json(stopped_summary())) ==
        R"({"name":"web1","state":"Stopped","pid":null,"runStrategy":"Manual","ready":false,)"
        R"("agent":{"connected":false,"version":""}})");
}

TEST_CASE("a running VM's list entry has its pid, readiness and agent version") {
  VmSummary vm{.name = "web1",
               .state = "Running",
               .pid = 4242,
               .run_strategy = "Always",
               .ready = true,
               .agent_connected = true,
               .agent_version = "7.2.0"};
  CHECK(json::serialize(api::to_json(vm)) ==
        R"({"name":"web1","state":"Running","pid":4242,"runStrategy":"Always","ready":true,)"
        R"("agent":{"connected":true,"version":"7.2.0"}})");
}

TEST_CASE("list entries are appended as text after what the string holds") {
  std::string out = "[";
  api::append_json(stopped_summary(), out);
  out += ',';
  api::append_json(VmSummary{.name = "db", .state = "Running", .pid = 7, .run_strategy = "Always"},
                   out);
  CHECK(out ==
        R"([{"name":"web1","state":"Stopped","pid":null,"runStrategy":"Manual","ready":false,)"
        R"("agent":{"connected":false,"version":""}},)"
        R"({"name":"db","state":"Running","pid":7,"runStrategy":"Always","ready":false,)"
        R"("agent":{"connected":false,"version":""}})");
}

TEST_CASE("a list entry escapes what a guest's agent reports as its version") {
  const std::string version = "7.2 \"x\" \\ \n\x01 \xc3\xa9";
  VmSummary vm{.name = "web1",
               .state = "Running",
               .pid = 4242,
               .run_strategy = "Always",
               .agent_connected = true,
               .agent_version = version};
  std::string text;
  api::append_json(vm, text);
  CHECK(text.ends_with(R"("agent":{"connected":true,"version":"7.2 \"x\" \\ \n\u0001 )"
                       "\xc3\xa9\"}}"));  // UTF-8 as it is
  CHECK(json::parse(text).at("agent").at("version").as_string() == version);
}

TEST_CASE("a stopped VM's details leave out what it does not have") {
  CHECK(json::serialize(api::to_json(stopped_details())) ==
        R"({"name":"web1","state":"Stopped","pid":null,"runStrategy":"Manual","ready":false,)"
        R"("agent":{"connected":false,"version":""},)"
        R"("uuid":"5f2b0c3e-1111-4222-8333-444455556666",)"
        R"("createdAt":"2026-12-01T03:40:00.123Z","lastError":"","ownedClaims":[],)"
        R"("qemuVersion":"","startedAt":"","qemuUid":null,)"
        R"("specText":"kind: VirtualMachine\n"})");
}

TEST_CASE("a running VM's details have every field in its place") {
  VmDetails vm = stopped_details();
  vm.summary = VmSummary{.name = "web1",
                         .state = "Running",
                         .pid = 4242,
                         .run_strategy = "Always",
                         .ready = true,
                         .agent_connected = true,
                         .agent_version = "7.2.0"};
  vm.agent_last_seen = "2026-12-01T03:41:00.000Z";
  vm.last_error = "QEMU exited with status 1";
  vm.owned_claims = {"web1-root", "web1-data"};
  vm.migrated_to = "host-b";
  vm.migrated_at = "2026-12-01T02:00:00.000Z";
  vm.split_memory = "it may run on host-b";
  vm.saved_state = VmSavedState{.at = "2026-12-01T01:00:00.000Z",
                                .path = "/var/lib/qmd/vms/web1/saved-state",
                                .paused = true};
  vm.qemu_version = "7.2.0";
  vm.started_at = "2026-12-01T03:40:01.000Z";
  vm.qemu_uid = 61001;
  ProbeTally ready{.passing = true,
                   .successes = 3,
                   .runs = 5,
                   .last_result = "passed",
                   .last_at = "2026-12-01T03:41:30.000Z"};
  vm.probes = VmProbeStatus{.readiness = ready};
  vm.guest_name = VmDetails::GuestName{.hostname = "web1", .subdomain = "lab"};
  CHECK(json::serialize(api::to_json(vm)) ==
        R"({"name":"web1","state":"Running","pid":4242,"runStrategy":"Always","ready":true,)"
        R"("agent":{"connected":true,"version":"7.2.0","lastSeen":"2026-12-01T03:41:00.000Z"},)"
        R"("uuid":"5f2b0c3e-1111-4222-8333-444455556666",)"
        R"("createdAt":"2026-12-01T03:40:00.123Z","lastError":"QEMU exited with status 1",)"
        R"("ownedClaims":["web1-root","web1-data"],)"
        R"("migratedTo":"host-b","migratedAt":"2026-12-01T02:00:00.000Z",)"
        R"("splitMemory":"it may run on host-b",)"
        R"("savedState":{"at":"2026-12-01T01:00:00.000Z",)"
        R"("path":"/var/lib/qmd/vms/web1/saved-state","paused":true},)"
        R"("qemuVersion":"7.2.0","startedAt":"2026-12-01T03:40:01.000Z","qemuUid":61001,)"
        R"("probes":{"readiness":{"passing":true,"successes":3,"failures":0,"runs":5,)"
        R"("lastResult":"passed","lastAt":"2026-12-01T03:41:30.000Z"}},)"
        R"("hostname":"web1","subdomain":"lab","specText":"kind: VirtualMachine\n"})");
}

TEST_CASE("a vCPU change answers with the VM's name last") {
  CHECK(json::serialize(api::to_json("web1", CpuChange{.count = 3, .max = 4, .pinned = true})) ==
        R"({"count":3,"max":4,"pinned":true,"name":"web1"})");
}
