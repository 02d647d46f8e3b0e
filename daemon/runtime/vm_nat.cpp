// A VM on the managed NAT network: the lease and guard of each masquerade tap before the tap
// joins the bridge, their end with the run, and a QEMU adopted after a restart of qmd.
#include <fmt/format.h>
#include <sys/stat.h>

#include "daemon/network/nat_network.hpp"
#include "daemon/runtime/vm.hpp"

namespace qmd::daemon {

asio::awaitable<std::optional<std::string>> Vm::attach_nat(
    const cmdline::RenderResult& rendered) {
  for (const auto& plan : rendered.taps) {
    if (!plan.nat) {
      continue;
    }
    if (!ctx_.nat) {
      co_return fmt::format("interface {} is masquerade on the NAT network, which this qmd "
                            "does not run (network.masquerade: user)",
                            plan.interface);
    }
    std::string vm = name_;
    std::string interface = plan.interface;
    std::string mac = plan.mac;
    std::string tap = plan.name;
    auto attached = co_await ctx_.nat->attach(vm, interface, mac, tap);
    if (!attached) {
      co_return fmt::format("interface {}: {}", plan.interface, attached.error());
    }
    run_->nat_taps.push_back(plan.name);
  }
  co_return std::nullopt;
}

asio::awaitable<void> Vm::detach_nat(Run& run) {
  const std::vector<std::string> taps = std::move(run.nat_taps);
  run.nat_taps.clear();
  for (const auto& tap : taps) {
    if (ctx_.nat) {
      std::string name = tap;
      co_await ctx_.nat->detach(name);
    }
  }
}

asio::awaitable<void> Vm::readopt_taps(std::shared_ptr<Run> run) {
  auto rendered = render();
  if (!rendered) {
    co_return;  // the definition no longer renders: nothing of it to take over
  }
  for (const auto& plan : rendered->taps) {
    struct stat st {};
    if (::stat(fmt::format("/sys/class/net/{}", plan.name).c_str(), &st) != 0) {
      continue;
    }
    run->taps.push_back(plan.name);
  }
  // The guards again (a no-op when they are in place) and the network's own record of them.
  if (auto failed = co_await attach_nat(*rendered)) {
    publish("Adoption", fmt::format("the NAT network: {}", *failed));
  }
}

}  // namespace qmd::daemon
