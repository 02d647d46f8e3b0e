#include "daemon/api/event_json.hpp"

namespace qmd::daemon::api {

boost::json::object to_json(const Event& event) {
  boost::json::object out;
  out["time"] = format_time(event.time);
  out["vm"] = event.vm;
  out["type"] = event.type;
  out["state"] = event.state;
  out["message"] = event.message;
  return out;
}

}  // namespace qmd::daemon::api
