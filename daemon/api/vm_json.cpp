#include "daemon/api/vm_json.hpp"

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <charconv>
#include <utility>

namespace qmd::daemon::api {

namespace json = boost::json;

namespace {

json::object tally_json(const ProbeTally& tally) {
  return json::object{{"passing", tally.passing},        {"successes", tally.successes},
                      {"failures", tally.failures},      {"runs", tally.runs},
                      {"lastResult", tally.last_result}, {"lastAt", tally.last_at}};
}

json::object probes_json(const VmProbeStatus& probes) {
  json::object out;
  if (probes.readiness) {
    out["readiness"] = tally_json(*probes.readiness);
  }
  if (probes.liveness) {
    out["liveness"] = tally_json(*probes.liveness);
  }
  return out;
}

// The fields after the summary's that every VM has, then the optional ones in their place.
void add_record(const VmDetails& vm, json::object& out) {
  out["uuid"] = vm.uuid;
  out["createdAt"] = vm.created_at;
  out["lastError"] = vm.last_error;
  out["ownedClaims"] = json::array(vm.owned_claims.begin(), vm.owned_claims.end());
  if (!vm.migrated_to.empty()) {
    out["migratedTo"] = vm.migrated_to;
    out["migratedAt"] = vm.migrated_at;
  }
  if (!vm.split_memory.empty()) {
    out["splitMemory"] = vm.split_memory;
  }
  if (vm.saved_state) {
    out["savedState"] = json::object{{"at", vm.saved_state->at},
                                     {"path", vm.saved_state->path},
                                     {"paused", vm.saved_state->paused}};
  }
}

// A JSON string. Names, states and run strategies never need escaping; a guest's agent
// version might, and then Boost.JSON's serializer writes it.
void append_string(std::string_view text, std::string& out) {
  const bool plain = std::ranges::none_of(text, [](char c) {
    return static_cast<unsigned char>(c) < 0x20 || c == '"' || c == '\\';
  });
  if (!plain) {
    out += json::serialize(json::string_view(text.data(), text.size()));
    return;
  }
  out += '"';
  out += text;
  out += '"';
}

}  // namespace

void append_json(const VmSummary& vm, std::string& out) {
  out += R"({"name":)";
  append_string(vm.name, out);
  out += R"(,"state":)";
  append_string(vm.state, out);
  out += R"(,"pid":)";
  if (vm.pid) {
    char digits[16];
    const auto written = std::to_chars(digits, digits + sizeof digits, *vm.pid);
    out.append(digits, written.ptr);
  } else {
    out += "null";
  }
  out += R"(,"runStrategy":)";
  append_string(vm.run_strategy, out);
  out += vm.ready ? R"(,"ready":true)" : R"(,"ready":false)";
  out += vm.agent_connected ? R"(,"agent":{"connected":true,"version":)"
                            : R"(,"agent":{"connected":false,"version":)";
  append_string(vm.agent_version, out);
  out += "}}";
}

json::object to_json(const VmSummary& vm) {
  std::string text;
  append_json(vm, text);
  return json::parse(text).as_object();
}

json::object to_json(const VmDetails& vm) {
  json::object out = to_json(vm.summary);
  add_record(vm, out);
  out["qemuVersion"] = vm.qemu_version;
  out["startedAt"] = vm.started_at;
  if (vm.qemu_uid) {
    out["qemuUid"] = std::int64_t{*vm.qemu_uid};
  } else {
    out["qemuUid"] = nullptr;
  }
  if (vm.agent_last_seen) {
    out["agent"].as_object()["lastSeen"] = *vm.agent_last_seen;
  }
  if (vm.probes) {
    out["probes"] = probes_json(*vm.probes);
  }
  if (vm.guest_name) {
    out["hostname"] = vm.guest_name->hostname;
    out["subdomain"] = vm.guest_name->subdomain;
  }
  out["specText"] = vm.spec_text;
  return out;
}

json::object to_json(std::string_view vm_name, const CpuChange& change) {
  return json::object{
      {"count", change.count}, {"max", change.max}, {"pinned", change.pinned}, {"name", vm_name}};
}

}  // namespace qmd::daemon::api
