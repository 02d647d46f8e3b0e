// Typed helpers for block and network backends (declared in commands.hpp).
#include "qmp/commands.hpp"
#include "qmp/commands_run.hpp"

namespace qmd::qmp {

using detail::query;
using detail::run;

asio::awaitable<QmpDone> blockdev_add(QmpClient& client, boost::json::object arguments) {
  return run(client, "blockdev-add", std::move(arguments));
}

asio::awaitable<QmpDone> blockdev_del(QmpClient& client, std::string node_name) {
  return run(client, "blockdev-del", {{"node-name", std::move(node_name)}});
}

asio::awaitable<std::expected<std::vector<BlockDevice>, QmpError>> query_block(QmpClient& client) {
  return query(client, "query-block", parse_block);
}

asio::awaitable<std::expected<std::vector<BlockStats>, QmpError>> query_blockstats(
    QmpClient& client, bool query_nodes) {
  boost::json::object arguments;
  if (query_nodes) {
    arguments["query-nodes"] = true;
  }
  return query(client, "query-blockstats", parse_blockstats, std::move(arguments));
}

asio::awaitable<QmpDone> netdev_add(QmpClient& client, boost::json::object arguments) {
  return run(client, "netdev_add", std::move(arguments));
}

asio::awaitable<QmpDone> netdev_del(QmpClient& client, std::string id) {
  return run(client, "netdev_del", {{"id", std::move(id)}});
}

}  // namespace qmd::qmp
