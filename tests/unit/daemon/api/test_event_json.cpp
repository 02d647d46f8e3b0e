// One line of GET /v1/events from the runtime's Event.
#include <doctest/doctest.h>

#include <boost/json/serialize.hpp>

#include "daemon/api/event_json.hpp"

using namespace qmd::daemon;

TEST_CASE("an event is its time in UTC with milliseconds, then VM, type, state, message") {
  const auto at =
      std::chrono::system_clock::time_point{} + std::chrono::milliseconds{1'796'096'400'123};
  const Event event{.time = at,
                    .vm = "web1",
                    .type = "StateChanged",
                    .state = "Running",
                    .message = "started \"now\""};
  CHECK(boost::json::serialize(api::to_json(event)) ==
        R"({"time":"2026-12-01T03:40:00.123Z","vm":"web1","type":"StateChanged",)"
        R"("state":"Running","message":"started \"now\""})");
}
