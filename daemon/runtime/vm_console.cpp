// qmd holds the serial console of a running VM for the whole run, so what the guest prints
// is kept (ConsoleLog) whether or not anyone is attached.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "daemon/runtime/vm.hpp"

namespace qmd::daemon {

asio::awaitable<void> Vm::keep_console(std::string why) {
  auto parsed = spec();
  if (!parsed || !parsed->domain.devices.autoattach_serial_console.value_or(true) || !run_ ||
      !run_->qemu) {
    co_return;
  }
  const pid_t pid = run_->qemu->pid();
  std::string banner = fmt::format("\r\n[qmd] VM {} {} {} (QEMU pid {})\r\n", name_, why,
                                   format_time(std::chrono::system_clock::now()), pid);
  auto log = console_;
  auto failed = co_await log->connect(paths().console_socket(), pid, std::move(banner));
  if (failed) {
    const std::string message =
        fmt::format("the serial console of VM {} is not kept in this run: {}", name_, *failed);
    spdlog::warn("{}", message);
    publish("Warning", message);
  }
}

}  // namespace qmd::daemon
