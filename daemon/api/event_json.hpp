#pragma once
// An event as GET /v1/events streams it, one JSON object per line.
#include <boost/json/object.hpp>

#include "daemon/runtime/event_bus.hpp"

namespace qmd::daemon::api {

// {time, vm, type, state, message}
boost::json::object to_json(const Event& event);

}  // namespace qmd::daemon::api
