#pragma once
// Coroutine synchronisation for the daemon's single event-loop thread: a FIFO mutex that
// serializes one VM's lifecycle operations, and a latch that wakes every waiter once (a
// process exit, an expected event). Neither is thread-safe; both live on the loop thread.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <memory>
#include <vector>

namespace qmd::daemon {

namespace asio = boost::asio;

class AsyncMutex {
 public:
  explicit AsyncMutex(asio::any_io_executor executor) : slot_(executor, 1) {}

  class Guard {
   public:
    explicit Guard(AsyncMutex* mutex) : mutex_(mutex) {}
    Guard(Guard&& other) noexcept : mutex_(std::exchange(other.mutex_, nullptr)) {}
    Guard& operator=(Guard&&) = delete;
    ~Guard() {
      if (mutex_ != nullptr) {
        mutex_->slot_.try_receive([](boost::system::error_code) {});
      }
    }

   private:
    AsyncMutex* mutex_;
  };

  // Waits (in arrival order) until no other holder is left. The channel holds one token:
  // sending it takes the lock, receiving it gives the lock back.
  asio::awaitable<Guard> lock() {
    co_await slot_.async_send(boost::system::error_code{}, asio::use_awaitable);
    co_return Guard(this);
  }
  bool locked() const { return slot_.ready(); }

 private:
  asio::experimental::channel<void(boost::system::error_code)> slot_;
};

class Latch {
 public:
  explicit Latch(asio::any_io_executor executor) : executor_(std::move(executor)) {}

  void set() {
    set_ = true;
    for (auto& weak : waiters_) {
      if (auto timer = weak.lock()) {
        timer->cancel();
      }
    }
    waiters_.clear();
  }
  bool is_set() const { return set_; }

  // True when the latch is (or becomes) set within `limit`.
  template <typename Rep, typename Period>
  asio::awaitable<bool> wait_for(std::chrono::duration<Rep, Period> limit) {
    if (set_) {
      co_return true;
    }
    auto timer = std::make_shared<asio::steady_timer>(executor_, limit);
    std::erase_if(waiters_, [](const auto& weak) { return weak.expired(); });
    waiters_.push_back(timer);
    boost::system::error_code ec;
    co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    co_return set_;
  }

 private:
  asio::any_io_executor executor_;
  bool set_ = false;
  std::vector<std::weak_ptr<asio::steady_timer>> waiters_;
};

}  // namespace qmd::daemon
