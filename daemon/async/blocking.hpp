#pragma once
// Runs a blocking function (file copies, qemu-img, swtpm_setup) on the daemon's small pool
// and resumes the calling coroutine on its own executor: the loop never stalls on disk I/O.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <type_traits>
#include <utility>

namespace qmd::daemon {

// g++ 12 destroys a lambda temporary in a co_await full-expression twice: name the lambda
// first (`auto job = [...]{...}; co_await run_blocking(pool, std::move(job));`).
template <typename F>
boost::asio::awaitable<std::invoke_result_t<F>> run_blocking(boost::asio::thread_pool& pool,
                                                             F fn) {
  using R = std::invoke_result_t<F>;
  return boost::asio::co_spawn(
      pool.get_executor(),
      [fn = std::move(fn)]() mutable -> boost::asio::awaitable<R> { co_return fn(); },
      boost::asio::use_awaitable);
}

}  // namespace qmd::daemon
