#pragma once
// Typed helpers for the QMP commands qmd uses. Each runs through QmpClient::execute (so it has
// the client's default timeout) and returns the typed reply or the QmpError. Anything not here
// goes through QmpClient::execute(name, arguments) directly.
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <vector>

#include "qmp/client.hpp"
#include "qmp/replies.hpp"

namespace qmd::qmp {

using QmpDone = std::expected<void, QmpError>;

// --- run state (commands.cpp)
asio::awaitable<std::expected<RunStatus, QmpError>> query_status(QmpClient& client);
asio::awaitable<QmpDone> stop(QmpClient& client);
asio::awaitable<QmpDone> cont(QmpClient& client);
asio::awaitable<QmpDone> system_powerdown(QmpClient& client);
asio::awaitable<QmpDone> system_reset(QmpClient& client);
// QEMU answers, then sends SHUTDOWN and closes the connection.
asio::awaitable<QmpDone> quit(QmpClient& client);

// --- vCPUs and devices (commands.cpp)
asio::awaitable<std::expected<std::vector<CpuInfo>, QmpError>> query_cpus_fast(QmpClient& client);
// Every CPU slot the machine has (-smp ...,maxcpus=N), plugged or not.
asio::awaitable<std::expected<std::vector<HotpluggableCpu>, QmpError>> query_hotpluggable_cpus(
    QmpClient& client);
// `arguments` are device_add's own: {"driver": ..., "id": ..., "bus": ..., props...}.
asio::awaitable<QmpDone> device_add(QmpClient& client, boost::json::object arguments);
// Asks the guest to release the device; wait for DEVICE_DELETED before reusing its id.
asio::awaitable<QmpDone> device_del(QmpClient& client, std::string id);
asio::awaitable<QmpResult> qom_get(QmpClient& client, std::string path, std::string property);
asio::awaitable<QmpDone> qom_set(QmpClient& client, std::string path, std::string property,
                                 boost::json::value value);

// --- memory balloon and display (commands.cpp)
// Asks the guest's balloon driver for a new memory size; the guest follows (or not) later.
// Without a balloon device QEMU answers DeviceNotActive.
asio::awaitable<QmpDone> balloon(QmpClient& client, std::int64_t bytes);
// The guest's memory size as the balloon last reported it (the full RAM size until a driver
// in a running guest has moved it).
asio::awaitable<std::expected<std::int64_t, QmpError>> query_balloon(QmpClient& client);
// Writes the console as a PPM file (QEMU opens `filename` itself). `device` picks a display
// device by id; without it, the first console.
asio::awaitable<QmpDone> screendump(QmpClient& client, std::string filename,
                                    std::optional<std::string> device = std::nullopt);

// --- block and network backends (commands_block.cpp)
// `arguments` are blockdev-add's own: {"driver": ..., "node-name": ..., driver options...}.
asio::awaitable<QmpDone> blockdev_add(QmpClient& client, boost::json::object arguments);
// Only a node no device uses any more (after DEVICE_DELETED).
asio::awaitable<QmpDone> blockdev_del(QmpClient& client, std::string node_name);
asio::awaitable<std::expected<std::vector<BlockDevice>, QmpError>> query_block(QmpClient& client);
// Without `query_nodes`, one entry per device backend (a node no device uses is left out);
// with it, one per named node, devices or not.
asio::awaitable<std::expected<std::vector<BlockStats>, QmpError>> query_blockstats(
    QmpClient& client, bool query_nodes = false);
// `arguments` are netdev_add's own: {"type": "tap"|"user"|..., "id": ..., options...}.
asio::awaitable<QmpDone> netdev_add(QmpClient& client, boost::json::object arguments);
asio::awaitable<QmpDone> netdev_del(QmpClient& client, std::string id);

// --- descriptors handed to QEMU (commands_fd.cpp)
// Puts `fd` into a new fd set (QEMU picks the id; `opaque` labels it in query-fdsets). A
// blockdev then opens "/dev/fdset/<id>" and QEMU dups the set's descriptor.
asio::awaitable<std::expected<FdsetAdded, QmpError>> add_fd(QmpClient& client, UniqueFd fd,
                                                           std::string opaque);
// Drops the monitor's hold on a set: QEMU closes its descriptors once nothing it opened from
// them is still in use (a disk attached from the set keeps its own dup).
asio::awaitable<QmpDone> remove_fd(QmpClient& client, std::int64_t fdset_id);
// Names `fd` inside QEMU for "fd:NAME" migration URIs; closefd drops the name.
asio::awaitable<QmpDone> getfd(QmpClient& client, UniqueFd fd, std::string name);
asio::awaitable<QmpDone> closefd(QmpClient& client, std::string name);

// --- live migration (commands_migration.cpp)
// On the source: starts migrating to `uri` ("unix:PATH", "tcp:HOST:PORT", "fd:NAME") and
// returns at once; follow MIGRATION events (capability "events") or poll query_migrate.
// QEMU 7.2 always runs migration in the background (its `detach` argument is ignored) and
// deprecates `blk`/`inc`, so neither is sent. `resume` restarts a paused postcopy migration.
asio::awaitable<QmpDone> migrate(QmpClient& client, std::string uri, bool resume = false);
// On a destination started with `-incoming defer`: listens on `uri`.
asio::awaitable<QmpDone> migrate_incoming(QmpClient& client, std::string uri);
asio::awaitable<QmpDone> migrate_cancel(QmpClient& client);
// Leaves a pause the capabilities asked for; `state` is the one it paused in
// ("pre-switchover" with capability pause-before-switchover).
asio::awaitable<QmpDone> migrate_continue(QmpClient& client, std::string state);
asio::awaitable<QmpDone> migrate_set_capabilities(QmpClient& client,
                                                  std::vector<MigrationCapability> capabilities);
asio::awaitable<std::expected<std::vector<MigrationCapability>, QmpError>>
query_migrate_capabilities(QmpClient& client);
// `parameters` are QEMU's own: {"max-bandwidth": bytes/s, "downtime-limit": ms, ...}.
asio::awaitable<QmpDone> migrate_set_parameters(QmpClient& client, boost::json::object parameters);
asio::awaitable<std::expected<MigrationInfo, QmpError>> query_migrate(QmpClient& client);

}  // namespace qmd::qmp
