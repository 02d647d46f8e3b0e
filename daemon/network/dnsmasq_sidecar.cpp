#include "daemon/network/dnsmasq_sidecar.hpp"

#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <fstream>
#include <sstream>

#include "daemon/launch/file_tail.hpp"
#include "daemon/launch/launcher.hpp"

namespace qmd::daemon::network {

using namespace std::chrono_literals;

namespace {

std::string read_small(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string text(4096, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  return text;
}

std::optional<pid_t> pid_in(const std::string& path) {
  std::istringstream in(read_small(path));
  long pid = 0;
  if (!(in >> pid) || pid <= 1) {
    return std::nullopt;
  }
  return static_cast<pid_t>(pid);
}

}  // namespace

std::vector<std::string> dnsmasq_argv(const DnsmasqFiles& files) {
  return {"dnsmasq", "--keep-in-foreground", "--conf-file=" + files.conf};
}

asio::awaitable<std::expected<void, std::string>> DnsmasqSidecar::start() {
  ::unlink(files_.pid.c_str());
  LaunchSpec spec;
  spec.argv = dnsmasq_argv(files_);
  spec.log_path = files_.log;
  spec.seccomp = false;  // QEMU's profile is not dnsmasq's; dnsmasq drops its own privileges
  auto launched = launch(spec);
  if (!launched) {
    co_return std::unexpected(fmt::format("dnsmasq: {} (Debian: apt install dnsmasq-base)",
                                          launched.error()));
  }
  process_.emplace(executor_, launched->pid, launched->pidfd, true);
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (pid_in(files_.pid) != launched->pid) {
    const bool gone = co_await process_->wait_exit_for(20ms);
    if (gone) {
      co_return std::unexpected(fmt::format("dnsmasq {} at start; its log ({}):\n{}",
                                            process_->describe(), files_.log,
                                            file_tail(files_.log, 15)));
    }
    if (std::chrono::steady_clock::now() > until) {
      process_->signal(SIGKILL);
      co_await process_->wait_exit_for(5s);
      co_return std::unexpected(fmt::format("dnsmasq did not write {} within 10 s; its log:\n{}",
                                            files_.pid, file_tail(files_.log, 15)));
    }
  }
  co_return std::expected<void, std::string>{};
}

bool DnsmasqSidecar::adopt() {
  const auto pid = pid_in(files_.pid);
  if (!pid) {
    return false;
  }
  std::string args = read_small(fmt::format("/proc/{}/cmdline", *pid));
  std::replace(args.begin(), args.end(), '\0', ' ');
  if (args.find("--conf-file=" + files_.conf + " ") == std::string::npos) {
    return false;
  }
  auto handle = daemon::ProcessHandle::open(executor_, *pid);
  if (!handle) {
    return false;
  }
  process_.emplace(std::move(*handle));
  return true;
}

void DnsmasqSidecar::supervise() {
  if (supervising_) {
    return;
  }
  supervising_ = true;
  stopping_ = false;
  auto self = shared_from_this();
  asio::co_spawn(executor_, [self] { return self->watch(); }, asio::detached);
}

asio::awaitable<void> DnsmasqSidecar::watch() {
  auto pause = 1s;
  while (!stopping_) {
    if (running()) {
      co_await process_->wait_exit();
      if (stopping_) {
        break;
      }
      notice_(fmt::format("dnsmasq of the NAT network (pid {}) {}; restarting it (log {})",
                          process_->pid(), process_->describe(), files_.log));
    }
    asio::steady_timer timer(executor_, pause);
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (stopping_) {
      break;
    }
    auto started = co_await start();
    if (started) {
      notice_(fmt::format("dnsmasq of the NAT network restarted (pid {})", process_->pid()));
      pause = 1s;
    } else {
      notice_(fmt::format("dnsmasq of the NAT network could not be restarted: {}; trying again "
                          "in {} s",
                          started.error(), pause.count()));
      pause = std::min(pause * 2, std::chrono::seconds(30));
    }
  }
  supervising_ = false;
}

bool DnsmasqSidecar::reload() { return running() && process_->signal(SIGHUP); }

asio::awaitable<void> DnsmasqSidecar::stop() {
  stopping_ = true;
  if (running()) {
    process_->signal(SIGTERM);
    const bool ended = co_await process_->wait_exit_for(5s);
    if (!ended) {
      process_->signal(SIGKILL);
      co_await process_->wait_exit_for(5s);
    }
  }
  ::unlink(files_.pid.c_str());
}

}  // namespace qmd::daemon::network
