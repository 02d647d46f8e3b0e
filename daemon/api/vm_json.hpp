#pragma once
// A VM as the API shows it: the list entry (GET /v1/vms), the whole VM (GET /v1/vms/NAME) and
// the answer of a vCPU change, from the runtime's structs (daemon/runtime/vm_views.hpp).
#include <boost/json/object.hpp>
#include <boost/json/storage_ptr.hpp>

#include "daemon/runtime/vm_views.hpp"

namespace qmd::daemon::api {

// {name, state, pid, runStrategy, ready, agent: {connected, version}}; `storage`: where the
// JSON lives (the list's arena, for speed).
boost::json::object to_json(const VmSummary& vm, boost::json::storage_ptr storage = {});
// The summary (agent with lastSeen) and uuid, createdAt, lastError, ownedClaims,
// migratedTo/migratedAt, splitMemory, savedState, qemuVersion, startedAt, qemuUid, probes,
// hostname/subdomain, specText; the optional ones only when set.
boost::json::object to_json(const VmDetails& vm);
// {name, count, max, pinned}
boost::json::object to_json(std::string_view vm_name, const CpuChange& change);

}  // namespace qmd::daemon::api
