#pragma once
// One ssh ControlMaster: a single authenticated connection to a host that later ssh commands
// ride (`ssh -S PATH -o ControlMaster=no ...`) without a handshake of their own. It lives as
// long as its owner: the last reference sends it SIGTERM and, off the caller's path, reaps it
// and removes its control socket. If qmd dies first, the kernel sends it SIGTERM
// (PR_SET_PDEATHSIG), so it never outlives qmd.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <expected>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/unique_fd.hpp"
#include "daemon/launch/process_handle.hpp"

namespace qmd::daemon::migration {

class SshMaster {
  struct Key {  // only start() makes one (through make_shared)
    explicit Key() = default;
  };

 public:
  // Runs `ssh -M -N -S PATH -o ControlPersist=no OPTIONS -- HOST` (`ssh_options` starts with
  // "ssh") with its control socket in `<run_dir>/ssh` (0700, qmd's own), and waits until the
  // socket accepts, at most `limit`. The error is ssh's own words ("ssh: connect to host ...
  // port 1: Connection refused", "Permission denied (publickey)") or says what timed out.
  static boost::asio::awaitable<std::expected<std::shared_ptr<SshMaster>, std::string>> start(
      boost::asio::any_io_executor executor, std::vector<std::string> ssh_options,
      std::string host, std::string run_dir, std::chrono::milliseconds limit);

  SshMaster(Key, boost::asio::any_io_executor executor, std::string control_path,
            std::string temp_dir, UniqueFd errors);
  SshMaster(const SshMaster&) = delete;
  SshMaster& operator=(const SshMaster&) = delete;
  ~SshMaster();

  const std::string& control_path() const { return control_path_; }
  // False once the master has exited (network gone, remote sshd restarted): callers then
  // connect on their own.
  bool running();
  // What ssh printed so far, one line per message, joined with "; ".
  std::string said() const;

 private:
  boost::asio::any_io_executor executor_;
  std::string control_path_;
  std::string temp_dir_;  // set when the run dir's path was too long for a socket
  UniqueFd errors_;       // ssh's stderr (a memfd)
  std::optional<ProcessHandle> process_;
};

}  // namespace qmd::daemon::migration
