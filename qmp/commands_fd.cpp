// Typed helpers for descriptors handed to QEMU over QMP (declared in commands.hpp).
#include "qmp/commands.hpp"
#include "qmp/commands_run.hpp"

namespace qmd::qmp {

using detail::run;

namespace {
// QEMU answers add-fd and getfd at once; the client's own timeout bounds them.
constexpr std::chrono::milliseconds kFdTimeout{10000};
}  // namespace

asio::awaitable<std::expected<FdsetAdded, QmpError>> add_fd(QmpClient& client, UniqueFd fd,
                                                           std::string opaque) {
  boost::json::object arguments{{"opaque", std::move(opaque)}};
  auto reply = co_await client.execute_with_fd("add-fd", std::move(arguments), std::move(fd),
                                               kFdTimeout);
  if (!reply) {
    co_return std::unexpected(std::move(reply.error()));
  }
  co_return parse_add_fd(*reply);
}

asio::awaitable<QmpDone> remove_fd(QmpClient& client, std::int64_t fdset_id) {
  return run(client, "remove-fd", {{"fdset-id", fdset_id}});
}

asio::awaitable<QmpDone> getfd(QmpClient& client, UniqueFd fd, std::string name) {
  boost::json::object arguments{{"fdname", std::move(name)}};
  auto reply = co_await client.execute_with_fd("getfd", std::move(arguments), std::move(fd),
                                               kFdTimeout);
  if (!reply) {
    co_return std::unexpected(std::move(reply.error()));
  }
  co_return QmpDone{};
}

asio::awaitable<QmpDone> closefd(QmpClient& client, std::string name) {
  return run(client, "closefd", {{"fdname", std::move(name)}});
}

}  // namespace qmd::qmp
