#include "qmp/commands.hpp"

namespace qmd::qmp {
namespace {

asio::awaitable<QmpDone> run(QmpClient& client, std::string name,
                             boost::json::object arguments = {}) {
  auto reply = co_await client.execute(std::move(name), std::move(arguments));
  if (!reply) {
    co_return std::unexpected(std::move(reply.error()));
  }
  co_return QmpDone{};
}

template <typename Parse>
auto query(QmpClient& client, std::string name, Parse parse)
    -> asio::awaitable<decltype(parse(boost::json::value{}))> {
  auto reply = co_await client.execute(std::move(name));
  if (!reply) {
    co_return std::unexpected(std::move(reply.error()));
  }
  co_return parse(*reply);
}

}  // namespace

asio::awaitable<std::expected<RunStatus, QmpError>> query_status(QmpClient& client) {
  return query(client, "query-status", parse_status);
}

asio::awaitable<std::expected<std::vector<CpuInfo>, QmpError>> query_cpus_fast(QmpClient& client) {
  return query(client, "query-cpus-fast", parse_cpus_fast);
}

asio::awaitable<std::expected<std::vector<BlockDevice>, QmpError>> query_block(QmpClient& client) {
  return query(client, "query-block", parse_block);
}

asio::awaitable<QmpDone> stop(QmpClient& client) { return run(client, "stop"); }
asio::awaitable<QmpDone> cont(QmpClient& client) { return run(client, "cont"); }
asio::awaitable<QmpDone> system_powerdown(QmpClient& client) {
  return run(client, "system_powerdown");
}
asio::awaitable<QmpDone> system_reset(QmpClient& client) { return run(client, "system_reset"); }
asio::awaitable<QmpDone> quit(QmpClient& client) { return run(client, "quit"); }

asio::awaitable<QmpDone> device_del(QmpClient& client, std::string id) {
  return run(client, "device_del", {{"id", std::move(id)}});
}

asio::awaitable<QmpDone> device_add(QmpClient& client, boost::json::object arguments) {
  return run(client, "device_add", std::move(arguments));
}

asio::awaitable<QmpResult> qom_get(QmpClient& client, std::string path, std::string property) {
  return client.execute("qom-get", {{"path", std::move(path)}, {"property", std::move(property)}});
}

asio::awaitable<QmpDone> qom_set(QmpClient& client, std::string path, std::string property,
                                 boost::json::value value) {
  return run(
      client, "qom-set",
      {{"path", std::move(path)}, {"property", std::move(property)}, {"value", std::move(value)}});
}

}  // namespace qmd::qmp
