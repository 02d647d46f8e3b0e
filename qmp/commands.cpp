#include "qmp/commands.hpp"

#include "qmp/commands_run.hpp"

namespace qmd::qmp {

using detail::query;
using detail::run;

asio::awaitable<std::expected<RunStatus, QmpError>> query_status(QmpClient& client) {
  return query(client, "query-status", parse_status);
}

asio::awaitable<QmpDone> stop(QmpClient& client) { return run(client, "stop"); }
asio::awaitable<QmpDone> cont(QmpClient& client) { return run(client, "cont"); }
asio::awaitable<QmpDone> system_powerdown(QmpClient& client) {
  return run(client, "system_powerdown");
}
asio::awaitable<QmpDone> system_reset(QmpClient& client) { return run(client, "system_reset"); }
asio::awaitable<QmpDone> quit(QmpClient& client) { return run(client, "quit"); }

asio::awaitable<std::expected<std::vector<CpuInfo>, QmpError>> query_cpus_fast(QmpClient& client) {
  return query(client, "query-cpus-fast", parse_cpus_fast);
}

asio::awaitable<std::expected<std::vector<HotpluggableCpu>, QmpError>> query_hotpluggable_cpus(
    QmpClient& client) {
  return query(client, "query-hotpluggable-cpus", parse_hotpluggable_cpus);
}

asio::awaitable<QmpDone> device_add(QmpClient& client, boost::json::object arguments) {
  return run(client, "device_add", std::move(arguments));
}

asio::awaitable<QmpDone> device_del(QmpClient& client, std::string id) {
  return run(client, "device_del", {{"id", std::move(id)}});
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

asio::awaitable<QmpDone> balloon(QmpClient& client, std::int64_t bytes) {
  return run(client, "balloon", {{"value", bytes}});
}

asio::awaitable<std::expected<std::int64_t, QmpError>> query_balloon(QmpClient& client) {
  return query(client, "query-balloon", parse_balloon);
}

asio::awaitable<QmpDone> screendump(QmpClient& client, std::string filename,
                                    std::optional<std::string> device) {
  boost::json::object arguments{{"filename", std::move(filename)}};
  if (device) {
    arguments["device"] = std::move(*device);
  }
  return run(client, "screendump", std::move(arguments));
}

}  // namespace qmd::qmp
