#include "daemon/runtime/event_bus.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace qmd::daemon {

namespace {

// Every follower gets its own copy of each event and the log a line: a message is bounded
// whatever put it together (guest text is sanitised and capped before, this is the backstop).
constexpr std::size_t kMaxMessageBytes = 4096;

void cap_message(std::string& message) {
  if (message.size() <= kMaxMessageBytes) {
    return;
  }
  std::size_t cut = kMaxMessageBytes;
  while (cut > 0 && (static_cast<unsigned char>(message[cut]) & 0xC0) == 0x80) {
    --cut;  // never split a UTF-8 sequence
  }
  message.resize(cut);
  message += " ... (truncated)";
}

}  // namespace

std::string format_time(std::chrono::system_clock::time_point time) {
  const auto ms = std::chrono::time_point_cast<std::chrono::milliseconds>(time);
  const auto secs = std::chrono::time_point_cast<std::chrono::seconds>(ms);
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03d}Z", secs,
                     static_cast<int>((ms - secs).count()));
}

std::size_t event_bytes(const Event& event) {
  return sizeof(Event) + event.vm.size() + event.type.size() + event.state.size() +
         event.message.size();
}

void EventBus::trim() {
  while (!history_.empty() &&
         (history_.size() > limits_.max_events || bytes_ > limits_.max_bytes)) {
    bytes_ -= event_bytes(history_.front());
    history_.pop_front();
    ++first_seq_;
  }
}

void EventBus::publish(Event event) {
  cap_message(event.message);
  history_.push_back(event);
  bytes_ += event_bytes(event);
  ++next_seq_;
  trim();
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

std::optional<std::pair<std::uint64_t, Event>> EventBus::next_event(
    std::uint64_t from, std::uint64_t until, const std::optional<std::string>& vm) const {
  for (auto seq = std::max(from, first_seq_); seq < std::min(until, next_seq_); ++seq) {
    const Event& event = history_[static_cast<std::size_t>(seq - first_seq_)];
    if (!vm || event.vm == *vm) {
      return std::pair{seq, event};
    }
  }
  return std::nullopt;
}

std::shared_ptr<EventBus::Channel> EventBus::subscribe() {
  auto channel = std::make_shared<Channel>(executor_, 1024);
  // Followers that left are otherwise only dropped at the next event, which may be far off.
  std::erase_if(subscribers_, [](const std::weak_ptr<Channel>& weak) { return weak.expired(); });
  subscribers_.push_back(channel);
  return channel;
}

}  // namespace qmd::daemon
