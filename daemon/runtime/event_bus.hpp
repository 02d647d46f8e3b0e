#pragma once
// The daemon's event stream: every VM transition, agent change and definition change, kept
// in a bounded history for late readers and pushed to live subscribers (GET /v1/events).
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <cstddef>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace qmd::daemon {

namespace asio = boost::asio;

struct Event {
  std::chrono::system_clock::time_point time;
  std::string vm;
  std::string type;     // StateChanged, Defined, Updated, Deleted, AgentConnected, ...
  std::string state;    // the VM's state after the event
  std::string message;  // why, in words
  boost::json::object to_json() const;
};

class EventBus {
 public:
  using Channel = asio::experimental::channel<void(boost::system::error_code, Event)>;

  explicit EventBus(asio::any_io_executor executor, std::size_t history = 2000)
      : executor_(std::move(executor)), limit_(history) {}

  void publish(Event event);
  // Events so far, oldest first; only `vm`'s when given.
  std::vector<Event> history(const std::optional<std::string>& vm) const;
  // A live feed of later events. A subscriber that falls 1024 events behind is dropped (its
  // channel closes) rather than holding the daemon's memory.
  std::shared_ptr<Channel> subscribe();

 private:
  asio::any_io_executor executor_;
  std::size_t limit_;
  std::deque<Event> history_;
  std::vector<std::weak_ptr<Channel>> subscribers_;
};

// "2026-12-01T03:40:00.123Z"
std::string format_time(std::chrono::system_clock::time_point time);

}  // namespace qmd::daemon
