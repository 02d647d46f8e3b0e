#pragma once
// dnsmasq as a supervised sidecar of the managed network (as libvirt runs it): started in
// the foreground in its own session (it outlives qmd, like the guests it serves), watched
// through a pidfd, restarted when it dies, taken over by the next qmd through its pid file,
// told to re-read the static leases with SIGHUP. Lives on the loop thread.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <expected>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "daemon/launch/process_handle.hpp"

namespace qmd::daemon::network {

namespace asio = boost::asio;

struct DnsmasqFiles {
  std::string conf;  // --conf-file (dnsmasq_conf.hpp)
  std::string pid;   // its pid-file=
  std::string log;   // its stderr (log-facility=-)
};

class DnsmasqSidecar : public std::enable_shared_from_this<DnsmasqSidecar> {
 public:
  using Notice = std::function<void(const std::string&)>;
  DnsmasqSidecar(asio::any_io_executor executor, DnsmasqFiles files, Notice notice)
      : executor_(std::move(executor)), files_(std::move(files)), notice_(std::move(notice)) {}

  // Starts dnsmasq and waits (10 s at most) until it has written its pid file, i.e. bound
  // its sockets; the error carries its log.
  asio::awaitable<std::expected<void, std::string>> start();
  // Takes over the dnsmasq an earlier qmd started: its pid file names a process whose
  // command line carries this conf file. True when taken over.
  bool adopt();
  // Restarts dnsmasq (with a growing pause) each time it exits, until stop().
  void supervise();
  // SIGHUP: dnsmasq re-reads its --dhcp-hostsfile. False when it is not running.
  bool reload();
  // SIGTERM, then SIGKILL after 5 s; supervision ends.
  asio::awaitable<void> stop();
  bool running() const { return process_ && !process_->exited(); }
  pid_t pid() const { return running() ? process_->pid() : -1; }

 private:
  asio::awaitable<void> watch();

  asio::any_io_executor executor_;
  DnsmasqFiles files_;
  Notice notice_;
  std::optional<daemon::ProcessHandle> process_;
  bool stopping_ = false;
  bool supervising_ = false;
};

// The command line of the managed network's dnsmasq.
std::vector<std::string> dnsmasq_argv(const DnsmasqFiles& files);

}  // namespace qmd::daemon::network
