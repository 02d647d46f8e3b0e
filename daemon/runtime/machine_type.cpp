#include "daemon/runtime/machine_type.hpp"

namespace qmd::daemon {

boost::asio::awaitable<std::string> resolved_machine_type(qmp::QmpClient& qmp,
                                                          std::string wanted) {
  auto machines = co_await qmp.execute("query-machines");
  if (!machines || !machines->is_array()) {
    co_return wanted;
  }
  for (const auto& entry : machines->as_array()) {
    const auto* object = entry.if_object();
    if (object == nullptr) {
      continue;
    }
    const auto* alias = object->if_contains("alias");
    const auto* name = object->if_contains("name");
    if (alias != nullptr && alias->is_string() && alias->as_string() == wanted &&
        name != nullptr && name->is_string()) {
      co_return std::string(name->as_string());
    }
  }
  co_return wanted;
}

}  // namespace qmd::daemon
