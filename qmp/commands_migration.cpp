// Typed helpers for live migration (declared in commands.hpp).
#include "qmp/commands.hpp"
#include "qmp/commands_run.hpp"

namespace qmd::qmp {

using detail::query;
using detail::run;

asio::awaitable<QmpDone> migrate(QmpClient& client, std::string uri, bool resume) {
  boost::json::object arguments{{"uri", std::move(uri)}};
  if (resume) {
    arguments["resume"] = true;
  }
  return run(client, "migrate", std::move(arguments));
}

asio::awaitable<QmpDone> migrate_incoming(QmpClient& client, std::string uri) {
  return run(client, "migrate-incoming", {{"uri", std::move(uri)}});
}

asio::awaitable<QmpDone> migrate_cancel(QmpClient& client) { return run(client, "migrate_cancel"); }

asio::awaitable<QmpDone> migrate_continue(QmpClient& client, std::string state) {
  return run(client, "migrate-continue", {{"state", std::move(state)}});
}

asio::awaitable<QmpDone> migrate_set_capabilities(QmpClient& client,
                                                  std::vector<MigrationCapability> capabilities) {
  boost::json::array list;
  for (auto& [name, state] : capabilities) {
    list.push_back(boost::json::object{{"capability", std::move(name)}, {"state", state}});
  }
  return run(client, "migrate-set-capabilities", {{"capabilities", std::move(list)}});
}

asio::awaitable<std::expected<std::vector<MigrationCapability>, QmpError>>
query_migrate_capabilities(QmpClient& client) {
  return query(client, "query-migrate-capabilities", parse_migrate_capabilities);
}

asio::awaitable<QmpDone> migrate_set_parameters(QmpClient& client, boost::json::object parameters) {
  return run(client, "migrate-set-parameters", std::move(parameters));
}

asio::awaitable<std::expected<MigrationInfo, QmpError>> query_migrate(QmpClient& client) {
  return query(client, "query-migrate", parse_migrate);
}

}  // namespace qmd::qmp
