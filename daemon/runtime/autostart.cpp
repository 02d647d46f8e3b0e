#include "daemon/runtime/autostart.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <map>

#include "daemon/runtime/vm.hpp"

namespace qmd::daemon {

std::vector<std::string> autostart_order(const std::vector<std::string>& names,
                                         const std::vector<std::string>& order) {
  std::vector<std::string> out;
  for (const auto& name : order) {
    if (std::ranges::find(names, name) != names.end()) {
      out.push_back(name);
    }
  }
  for (const auto& name : names) {
    if (std::ranges::find(order, name) == order.end()) {
      out.push_back(name);
    }
  }
  return out;
}

std::vector<std::string> autostart_order_warnings(const std::vector<std::string>& order,
                                                  const std::vector<std::string>& always,
                                                  const std::vector<std::string>& all) {
  std::vector<std::string> out;
  for (const auto& name : order) {
    if (std::ranges::find(all, name) == all.end()) {
      out.push_back(fmt::format("autostart.order names {}, which is not a VM here; define it "
                                "or take it off the list",
                                name));
    } else if (std::ranges::find(always, name) == always.end()) {
      out.push_back(fmt::format("autostart.order names {}, whose runStrategy is not Always: "
                                "qmd does not start it by itself",
                                name));
    }
  }
  return out;
}

asio::awaitable<std::vector<std::string>> autostart(DaemonContext& ctx,
                                                    std::vector<std::shared_ptr<Vm>> vms) {
  std::vector<std::string> problems;
  std::map<std::string, std::shared_ptr<Vm>> by_name;
  std::vector<std::string> names;
  for (auto& vm : vms) {
    names.push_back(vm->name());
    by_name.emplace(vm->name(), vm);
  }
  const auto order = autostart_order(names, ctx.config.autostart.order);
  bool first = true;
  for (const auto& name : order) {
    if (!first && ctx.config.autostart.delay.count() > 0) {
      asio::steady_timer timer(ctx.executor, ctx.config.autostart.delay);
      boost::system::error_code ec;
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    first = false;
    auto vm = by_name[name];
    if (is_active(vm->state()) || vm->state() == VmState::migrated) {
      continue;  // started (or sent away) by someone meanwhile
    }
    spdlog::info("autostart: starting VM {} ({})", name,
                 vm->has_saved_state() ? "restoring its saved state" : "runStrategy Always");
    auto started = co_await vm->start();
    if (!started) {
      problems.push_back(started.error().message);
    }
  }
  co_return problems;
}

}  // namespace qmd::daemon
