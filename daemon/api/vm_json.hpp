#pragma once
// A VM as the API shows it: the list entry (GET /v1/vms), the whole VM (GET /v1/vms/NAME) and
// the answer of a vCPU change, from the runtime's structs (daemon/runtime/vm_views.hpp).
#include <boost/json/object.hpp>
#include <string>

#include "daemon/runtime/vm_views.hpp"

namespace qmd::daemon::api {

// {name, state, pid, runStrategy, ready, agent: {connected, version}} appended to `out` as
// text: the VM list writes 1 000 of them into one string without a JSON tree in between.
void append_json(const VmSummary& vm, std::string& out);
// The same entry as an object (built from append_json's text: one definition of the entry).
boost::json::object to_json(const VmSummary& vm);
// The summary (agent with lastSeen) and uuid, createdAt, lastError, ownedClaims,
// migratedTo/migratedAt, splitMemory, savedState, qemuVersion, startedAt, qemuUid, probes,
// hostname/subdomain, specText; the optional ones only when set.
boost::json::object to_json(const VmDetails& vm);
// {name, count, max, pinned}
boost::json::object to_json(std::string_view vm_name, const CpuChange& change);

}  // namespace qmd::daemon::api
