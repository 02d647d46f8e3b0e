#pragma once
// The report of a host shutdown of the guests: POST /v1/host/shutdown-guests answers it, and
// <stateDir>/host-shutdown.json keeps the same object.
#include <boost/json/object.hpp>
#include <string>

#include "daemon/runtime/host_shutdown.hpp"

namespace qmd::daemon::api {

// {action, timeoutSeconds, startedAt, finishedAt, milliseconds,
//  vms: [{name, outcome, how, detail, milliseconds}], record, recordError?}
boost::json::object to_json(const HostShutdownReport& report);
std::string host_shutdown_text(const HostShutdownReport& report);  // serialised

}  // namespace qmd::daemon::api
