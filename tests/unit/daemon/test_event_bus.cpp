// The event history: bounded by count and by bytes, read one event at a time.
#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>

#include "daemon/runtime/event_bus.hpp"

using qmd::daemon::Event;
using qmd::daemon::EventBus;
using qmd::daemon::EventHistoryLimits;
using qmd::daemon::event_bytes;

namespace {

Event event(std::string vm, std::string message) {
  return Event{std::chrono::system_clock::now(), std::move(vm), "StateChanged", "running",
               std::move(message)};
}

}  // namespace

TEST_CASE("history: the oldest events go beyond the count limit") {
  boost::asio::io_context io;
  EventBus bus(io.get_executor(), EventHistoryLimits{.max_events = 3, .max_bytes = 1 << 20});
  for (int i = 0; i < 5; ++i) {
    bus.publish(event("a", std::to_string(i)));
  }
  const auto kept = bus.history(std::nullopt);
  REQUIRE(kept.size() == 3);
  CHECK(kept.front().message == "2");
  CHECK(kept.back().message == "4");
}

TEST_CASE("history: the oldest events go beyond the byte limit, and the bytes are counted") {
  boost::asio::io_context io;
  const std::size_t one = event_bytes(event("a", std::string(1000, 'x')));
  EventBus bus(io.get_executor(), EventHistoryLimits{.max_events = 100, .max_bytes = 3 * one});
  for (int i = 0; i < 10; ++i) {
    bus.publish(event("a", std::string(1000, static_cast<char>('0' + i))));
  }
  CHECK(bus.history_size() == 3);
  CHECK(bus.history_bytes() == 3 * one);
  CHECK(bus.history(std::nullopt).front().message[0] == '7');
}

TEST_CASE("history: an event larger than the byte limit on its own is not kept") {
  boost::asio::io_context io;
  EventBus bus(io.get_executor(), EventHistoryLimits{.max_events = 100, .max_bytes = 4096});
  bus.publish(event("a", "small"));
  bus.publish(event("a", std::string(8 << 20, 'v')));
  CHECK(bus.history_size() == 0);
  CHECK(bus.history_bytes() == 0);
  bus.publish(event("a", "after"));
  REQUIRE(bus.history_size() == 1);
  CHECK(bus.history(std::nullopt).front().message == "after");
}

TEST_CASE("next_event walks the history by sequence, filtered by VM, up to `until`") {
  boost::asio::io_context io;
  EventBus bus(io.get_executor(), EventHistoryLimits{.max_events = 3, .max_bytes = 1 << 20});
  bus.publish(event("a", "0"));
  bus.publish(event("b", "1"));
  bus.publish(event("a", "2"));
  bus.publish(event("b", "3"));  // "0" is dropped
  const auto until = bus.end_seq();
  CHECK(until == 4);
  std::vector<std::string> seen;
  for (std::uint64_t from = 0;;) {
    auto next = bus.next_event(from, until, std::string("b"));
    if (!next) {
      break;
    }
    seen.push_back(next->second.message);
    from = next->first + 1;
  }
  CHECK(seen == std::vector<std::string>{"1", "3"});
  bus.publish(event("b", "4"));
  CHECK_FALSE(bus.next_event(4, until, std::nullopt));  // later events are the live feed's
  CHECK(bus.next_event(4, bus.end_seq(), std::nullopt)->second.message == "4");
}

TEST_CASE("a subscriber gets the events published after it subscribed") {
  boost::asio::io_context io;
  EventBus bus(io.get_executor());
  bus.publish(event("a", "before"));
  auto channel = bus.subscribe();
  bus.publish(event("a", "after"));
  std::string got;
  channel->async_receive([&got](boost::system::error_code, Event e) { got = e.message; });
  io.run();
  CHECK(got == "after");
}
