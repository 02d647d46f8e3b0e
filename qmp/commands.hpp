#pragma once
// Typed helpers for the QMP commands qmd uses. Each runs through QmpClient::execute (so it has
// the client's default timeout) and returns the typed reply or the QmpError.
#include <boost/asio/awaitable.hpp>
#include <expected>
#include <string>
#include <vector>

#include "qmp/client.hpp"
#include "qmp/replies.hpp"

namespace qmd::qmp {

using QmpDone = std::expected<void, QmpError>;

asio::awaitable<std::expected<RunStatus, QmpError>> query_status(QmpClient& client);
asio::awaitable<std::expected<std::vector<CpuInfo>, QmpError>> query_cpus_fast(QmpClient& client);
asio::awaitable<std::expected<std::vector<BlockDevice>, QmpError>> query_block(QmpClient& client);

asio::awaitable<QmpDone> stop(QmpClient& client);
asio::awaitable<QmpDone> cont(QmpClient& client);
asio::awaitable<QmpDone> system_powerdown(QmpClient& client);
asio::awaitable<QmpDone> system_reset(QmpClient& client);
// QEMU answers, then sends SHUTDOWN and closes the connection.
asio::awaitable<QmpDone> quit(QmpClient& client);
// `arguments` are device_add's own: {"driver": ..., "id": ..., "bus": ..., props...}.
asio::awaitable<QmpDone> device_add(QmpClient& client, boost::json::object arguments);
// Asks the guest to release the device; wait for DEVICE_DELETED before reusing its id.
asio::awaitable<QmpDone> device_del(QmpClient& client, std::string id);

asio::awaitable<QmpResult> qom_get(QmpClient& client, std::string path, std::string property);
asio::awaitable<QmpDone> qom_set(QmpClient& client, std::string path, std::string property,
                                 boost::json::value value);

}  // namespace qmd::qmp
