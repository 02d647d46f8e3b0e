#include "daemon/runtime/event_bus.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace qmd::daemon {

std::string format_time(std::chrono::system_clock::time_point time) {
  const auto ms = std::chrono::time_point_cast<std::chrono::milliseconds>(time);
  const auto secs = std::chrono::time_point_cast<std::chrono::seconds>(ms);
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03d}Z", secs,
                     static_cast<int>((ms - secs).count()));
}

boost::json::object Event::to_json() const {
  boost::json::object out;
  out["time"] = format_time(time);
  out["vm"] = vm;
  out["type"] = type;
  out["state"] = state;
  out["message"] = message;
  return out;
}

void EventBus::publish(Event event) {
  history_.push_back(event);
  while (history_.size() > limit_) {
    history_.pop_front();
  }
  spdlog::info("vm {}: {} [{}] {}", event.vm, event.type, event.state, event.message);
  std::erase_if(subscribers_, [&](const std::weak_ptr<Channel>& weak) {
    auto channel = weak.lock();
    if (!channel || !channel->is_open()) {
      return true;
    }
    if (!channel->try_send(boost::system::error_code{}, event)) {
      channel->close();  // too far behind
      return true;
    }
    return false;
  });
}

std::vector<Event> EventBus::history(const std::optional<std::string>& vm) const {
  std::vector<Event> out;
  for (const auto& event : history_) {
    if (!vm || event.vm == *vm) {
      out.push_back(event);
    }
  }
  return out;
}

std::shared_ptr<EventBus::Channel> EventBus::subscribe() {
  auto channel = std::make_shared<Channel>(executor_, 1024);
  subscribers_.push_back(channel);
  return channel;
}

}  // namespace qmd::daemon
