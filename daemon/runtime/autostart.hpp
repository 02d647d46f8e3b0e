#pragma once
// Starting runStrategy Always VMs that are not running when qmd starts (at boot, after a host
// shutdown stopped them): in the order qmd.yaml's autostart.order gives, the others by name,
// autostart.delay apart. Runs after the API is up, so a long delay never holds up qmd.
#include <boost/asio/awaitable.hpp>
#include <memory>
#include <string>
#include <vector>

#include "daemon/config.hpp"
#include "daemon/runtime/context.hpp"

namespace qmd::daemon {

class Vm;

// `names` (the Always VMs to start) in start order: those in `order` first, in its order,
// then the rest in their given order. Names in `order` that are not in `names` are dropped.
std::vector<std::string> autostart_order(const std::vector<std::string>& names,
                                         const std::vector<std::string>& order);

// Warnings for autostart.order entries that name no VM, or a VM that is not runStrategy
// Always (`always`: the Always VMs, running or not; `all`: every VM).
std::vector<std::string> autostart_order_warnings(const std::vector<std::string>& order,
                                                  const std::vector<std::string>& always,
                                                  const std::vector<std::string>& all);

// Starts `vms` in autostart_order, `config.delay` between two starts; a VM someone started
// meanwhile is skipped. Returns what went wrong, per VM.
boost::asio::awaitable<std::vector<std::string>> autostart(DaemonContext& ctx,
                                                           std::vector<std::shared_ptr<Vm>> vms);

}  // namespace qmd::daemon
