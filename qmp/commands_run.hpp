#pragma once
// The two shapes every typed helper in commands*.cpp takes: a command whose reply carries
// nothing (`run`), and one whose reply is read by a pure parser from replies.hpp (`query`).
// Internal to qmp/.
#include <boost/json/object.hpp>
#include <string>
#include <utility>

#include "qmp/client.hpp"

namespace qmd::qmp::detail {

inline asio::awaitable<std::expected<void, QmpError>> run(QmpClient& client, std::string name,
                                                          boost::json::object arguments = {}) {
  auto reply = co_await client.execute(std::move(name), std::move(arguments));
  if (!reply) {
    co_return std::unexpected(std::move(reply.error()));
  }
  co_return std::expected<void, QmpError>{};
}

template <typename Parse>
auto query(QmpClient& client, std::string name, Parse parse, boost::json::object arguments = {})
    -> asio::awaitable<decltype(parse(boost::json::value{}))> {
  auto reply = co_await client.execute(std::move(name), std::move(arguments));
  if (!reply) {
    co_return std::unexpected(std::move(reply.error()));
  }
  co_return parse(*reply);
}

}  // namespace qmd::qmp::detail
