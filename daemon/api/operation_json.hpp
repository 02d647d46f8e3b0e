#pragma once
// An operation as GET /v1/operations/{id} shows it (daemon/runtime/operations.hpp).
#include <boost/json/object.hpp>

#include "daemon/runtime/operations.hpp"

namespace qmd::daemon::api {

// {destination, storageBytesDone, storageBytesTotal, status, bytesSent, bytesRemaining,
// bytesTotal, dirtyPagesRate, passes, expectedDowntimeMs, downtimeMs, totalTimeMs,
// setupTimeMs, downtimeLimitMs, elapsedMs, pausedMs}: each once known.
boost::json::object to_json(const MigrationProgress& progress);
// {id, kind, vm, status, phase, error?, progress, createdAt, finishedAt?}
boost::json::object to_json(const Operation& op);

}  // namespace qmd::daemon::api
