#pragma once
// A migration's destination qmd: its API socket on this host, or another host's reached
// through ssh (ssh://[user@]host[:port][/path/qmd.sock], as virsh's qemu+ssh), where
// `qmctl stdio-proxy` relays one API connection per ssh session. ssh uses only the identity
// and known hosts of migration.ssh in qmd.yaml, with BatchMode (keys only, never a password
// prompt). open_session() checks that the destination answers as a qmd before anything else
// is sent; after it, every ssh session rides one connection (a ControlMaster).
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/verb.hpp>
#include <chrono>
#include <expected>
#include <memory>
#include <string>
#include <vector>

#include "daemon/migration/peer_http.hpp"
#include "daemon/config.hpp"

namespace qmd::daemon::migration {

class SshMaster;

class RemoteQmd {
 public:
  // A socket path (absolute) or an ssh:// URL; the error says what is wrong with it.
  static std::expected<RemoteQmd, std::string> parse(const std::string& destination,
                                                     const Config& config);

  // A socket path: probes it (probe_local_qmd). Over ssh: opens the connection (an ssh
  // ControlMaster) every later request() of this object, and of copies made afterwards, goes
  // through, and checks that a qmd answers there. The error is ssh's own words or what did
  // not answer as a qmd. The connection ends with the last of these copies.
  boost::asio::awaitable<std::expected<void, std::string>> open_session(
      boost::asio::any_io_executor executor);

  boost::asio::awaitable<std::expected<PeerResponse, std::string>> request(
      boost::asio::any_io_executor executor, boost::beast::http::verb method,
      std::string target, std::string body, std::chrono::milliseconds limit) const;

  const std::string& destination() const { return destination_; }
  bool over_ssh() const { return !ssh_options_.empty(); }

 private:
  std::string destination_;               // as given, for messages
  std::string socket_;                    // the API socket (on the remote host over ssh)
  std::vector<std::string> ssh_options_;  // ssh -o ... [-F CONFIG] [-p PORT]
  std::string ssh_host_;                  // [user@]host
  std::string remote_command_;            // 'qmctl' -s 'SOCKET' stdio-proxy
  std::string run_dir_;                   // where the master's control socket goes
  std::shared_ptr<SshMaster> master_;     // after open_session(), shared by the copies
};

}  // namespace qmd::daemon::migration
