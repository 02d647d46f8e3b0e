#pragma once
// Drives an io_context from a test: run until something happened, always with a deadline, so
// a bug shows up as a failed check and never as a hung test.
#include <doctest/doctest.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <optional>

namespace qmd::qmp::testing {

namespace asio = boost::asio;
using namespace std::chrono_literals;

// False when `limit` passed first, or when nothing is left that could make `done` true.
inline bool run_until(asio::io_context& ioc, const std::function<bool()>& done,
                      std::chrono::milliseconds limit = 5000ms) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) {
      return false;
    }
    if (ioc.stopped()) {
      ioc.restart();
    }
    if (ioc.run_one_until(deadline) == 0 && ioc.stopped()) {
      return done();
    }
  }
  return true;
}

// Starts `task` on `ioc`; its result lands in the returned slot once it finishes. (co_spawn's
// own completion wants a default-constructible result, which std::expected<QmpClient> is not.)
template <typename T>
std::shared_ptr<std::optional<T>> start(asio::io_context& ioc, asio::awaitable<T> task) {
  auto slot = std::make_shared<std::optional<T>>();
  auto fill = [](asio::awaitable<T> t,
                 std::shared_ptr<std::optional<T>> s) -> asio::awaitable<void> {
    s->emplace(co_await std::move(t));
  };
  asio::co_spawn(ioc, fill(std::move(task), slot), [](std::exception_ptr error) {
    if (error) {
      std::rethrow_exception(error);
    }
  });
  return slot;
}

// Runs `task` to completion (within `limit`) and returns its result.
template <typename T>
T finish(asio::io_context& ioc, asio::awaitable<T> task, std::chrono::milliseconds limit = 5000ms) {
  auto slot = start(ioc, std::move(task));
  REQUIRE(run_until(
      ioc, [&] { return slot->has_value(); }, limit));
  return std::move(**slot);
}

}  // namespace qmd::qmp::testing
