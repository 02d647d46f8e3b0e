#pragma once
// The guest agent's answers as the API's JSON (GET .../guest/info, POST .../guest/exec).
#include <boost/json/object.hpp>

#include "daemon/runtime/guest_report.hpp"
#include "qmp/qga_commands.hpp"

namespace qmd::daemon::api {

// Every field of the report; one the agent lacks or failed is {"error": "..."}.
boost::json::object to_json(const GuestReport& report);
// {exitCode, signal?, stdout, stderr, truncated}, plus stdoutBase64/stderrBase64 (the exact
// bytes) for output that is not UTF-8.
boost::json::object to_json(const qmp::GuestExecResult& result);

}  // namespace qmd::daemon::api
