#pragma once
// The daemon's event stream: every VM transition, agent change and definition change, kept
// in a history bounded by count and by bytes for late readers, and pushed to live
// subscribers (GET /v1/events).
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
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
};

// What one event costs the history: its strings plus a fixed overhead per entry.
std::size_t event_bytes(const Event& event);

struct EventHistoryLimits {
  std::size_t max_events = 2000;
  std::size_t max_bytes = 1024 * 1024;  // by event_bytes()
};

class EventBus {
 public:
  using Channel = asio::experimental::channel<void(boost::system::error_code, Event)>;

  explicit EventBus(asio::any_io_executor executor, EventHistoryLimits limits = {})
      : executor_(std::move(executor)), limits_(limits) {}

  // Keeps the event in the history (dropping the oldest ones beyond either limit; an event
  // larger than max_bytes on its own is only sent live) and sends it to the subscribers.
  void publish(Event event);
  // Events so far, oldest first; only `vm`'s when given.
  std::vector<Event> history(const std::optional<std::string>& vm) const;

  // Reading the history one event at a time (a stream serialises each as it goes instead of
  // copying the whole history): every event has a sequence number, and
  // next_event(from, until, vm) is the first kept event with from <= seq < until (of `vm`
  // when given), with its seq. Events dropped meanwhile are skipped.
  std::uint64_t end_seq() const { return next_seq_; }
  std::optional<std::pair<std::uint64_t, Event>> next_event(
      std::uint64_t from, std::uint64_t until, const std::optional<std::string>& vm) const;
  std::size_t history_bytes() const { return bytes_; }
  std::size_t history_size() const { return history_.size(); }

  // A live feed of later events. A subscriber that falls 1024 events behind is dropped (its
  // channel closes) rather than holding the daemon's memory.
  std::shared_ptr<Channel> subscribe();

 private:
  void trim();

  asio::any_io_executor executor_;
  EventHistoryLimits limits_;
  std::deque<Event> history_;
  std::uint64_t first_seq_ = 0;  // seq of history_.front()
  std::uint64_t next_seq_ = 0;   // seq the next published event gets
  std::size_t bytes_ = 0;
  std::vector<std::weak_ptr<Channel>> subscribers_;
};

// "2026-12-01T03:40:00.123Z"
std::string format_time(std::chrono::system_clock::time_point time);

}  // namespace qmd::daemon
