#include "daemon/migration/remote_qmd.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <boost/asio/local/stream_protocol.hpp>
#include <charconv>

#include "daemon/launch/launcher.hpp"
#include "base/unique_fd.hpp"
#include "daemon/launch/process_handle.hpp"
#include "daemon/migration/ssh_master.hpp"


namespace qmd::daemon::migration {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

constexpr std::string_view kScheme = "ssh://";
constexpr std::string_view kDefaultRemoteSocket = "/run/qmd/qmd.sock";
// ConnectTimeout (10 s) plus the key exchange and login.
constexpr std::chrono::milliseconds kSessionLimit = 15s;
// The check that a destination is a qmd: one small GET.
constexpr std::chrono::milliseconds kProbeLimit = 10s;

// One word for the remote shell: single-quoted.
std::string shell_word(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  }
  return out + "'";
}

std::string read_all(int fd) {
  std::string out;
  ::lseek(fd, 0, SEEK_SET);
  char buffer[4096];
  for (ssize_t n; (n = ::read(fd, buffer, sizeof(buffer))) > 0;) {
    out.append(buffer, static_cast<std::size_t>(n));
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) {
    out.pop_back();
  }
  return out;
}

// ssh with the identity and known hosts qmd.yaml gives migrations, and nothing of the user
// qmd runs as (root's ~/.ssh/config, keys, agent, known hosts) unless migration.sshConfig
// names a file. Options given here win over any config file (ssh takes the first value).
std::expected<std::vector<std::string>, std::string> ssh_options(const Config& config) {
  if (config.migration_ssh_identity.empty() || config.migration_ssh_known_hosts.empty()) {
    return std::unexpected(std::string(
        "ssh:// destinations need migration.ssh.identity (the private key this qmd migrates "
        "with, not root's own) and migration.ssh.knownHosts (the destinations' host keys) in "
        "qmd.yaml"));
  }
  const std::string& config_file =
      config.migration_ssh_config.empty() ? std::string("/dev/null") : config.migration_ssh_config;
  return std::vector<std::string>{
      "ssh", "-F", config_file, "-i", config.migration_ssh_identity,
      "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none",
      "-o", "UserKnownHostsFile=" + config.migration_ssh_known_hosts,
      "-o", "GlobalKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=yes",
      "-o", "BatchMode=yes", "-o", "ConnectTimeout=10",
      "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=3"};
}

}  // namespace

std::expected<RemoteQmd, std::string> RemoteQmd::parse(const std::string& destination,
                                                       const Config& config) {
  RemoteQmd remote;
  remote.destination_ = destination;
  if (!destination.starts_with(kScheme)) {
    if (destination.empty() || destination.front() != '/') {
      return std::unexpected(fmt::format(
          "destination \"{}\" is neither a qmd socket path (absolute) nor "
          "ssh://[user@]host[:port][/path/qmd.sock]",
          destination));
    }
    remote.socket_ = destination;
    return remote;
  }
  // ssh://[user@]host[:port][/path]
  std::string rest = destination.substr(kScheme.size());
  const auto slash = rest.find('/');
  remote.socket_ = slash == std::string::npos ? std::string(kDefaultRemoteSocket)
                                              : rest.substr(slash);
  std::string authority = rest.substr(0, slash);
  std::string port;
  if (const auto colon = authority.rfind(':');
      colon != std::string::npos && authority.find(']') == std::string::npos) {
    port = authority.substr(colon + 1);
    authority.resize(colon);
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc{} || end != port.data() + port.size() || value == 0 || value > 65535) {
      return std::unexpected(fmt::format("destination {}: \"{}\" is not a port", destination,
                                         port));
    }
  }
  const auto at = authority.find('@');
  const std::string host = at == std::string::npos ? authority : authority.substr(at + 1);
  if (host.empty() || host.front() == '-' || authority.front() == '-') {
    return std::unexpected(fmt::format("destination {} names no host", destination));
  }
  auto options = ssh_options(config);
  if (!options) {
    return std::unexpected(fmt::format("destination {}: {}", destination, options.error()));
  }
  remote.ssh_options_ = std::move(*options);
  if (!port.empty()) {
    remote.ssh_options_.insert(remote.ssh_options_.end(), {"-p", port});
  }
  remote.ssh_host_ = authority;
  remote.remote_command_ = fmt::format("{} -s {} stdio-proxy",
                                       shell_word(config.migration_remote_qmctl),
                                       shell_word(remote.socket_));
  remote.run_dir_ = config.run_dir;
  return remote;
}

asio::awaitable<std::expected<void, std::string>> RemoteQmd::open_session(
    asio::any_io_executor executor) {
  if (!over_ssh()) {
    // Whatever a user names: the probe is all it gets unless it answers as a qmd.
    co_return co_await probe_local_qmd(executor, socket_, kProbeLimit);
  }
  if (master_) {
    co_return std::expected<void, std::string>{};
  }
  auto master = co_await SshMaster::start(executor, ssh_options_, ssh_host_, run_dir_,
                                          kSessionLimit);
  if (!master) {
    // The command to try by hand, as qmd's user: the same -F and -p.
    std::string by_hand = "ssh -o BatchMode=yes";
    for (std::size_t i = 1; i + 1 < ssh_options_.size(); ++i) {
      const std::string& word = ssh_options_[i];
      const bool shown = word == "-F" || word == "-p" || word == "-i" ||
                         (word == "-o" && ssh_options_[i + 1].starts_with("UserKnownHostsFile="));
      if (shown) {
        by_hand += fmt::format(" {} {}", word, ssh_options_[i + 1]);
      }
    }
    co_return std::unexpected(fmt::format(
        "cannot reach the destination qmd at {}: {} (as qmd's user, `{} {} true` must work: "
        "network, key, known host key)",
        destination_, master.error(), by_hand, ssh_host_));
  }
  master_ = std::move(*master);
  // The far end's socket answers as a qmd before anything else goes there.
  auto host = co_await request(executor, boost::beast::http::verb::get, "/v1/host", "",
                               kProbeLimit);
  if (!host) {
    co_return std::unexpected(host.error());
  }
  co_return check_qmd_host_reply(*host, destination_);
}

asio::awaitable<std::expected<PeerResponse, std::string>> RemoteQmd::request(
    asio::any_io_executor executor, boost::beast::http::verb method, std::string target,
    std::string body, std::chrono::milliseconds limit) const {
  if (!over_ssh()) {
    co_return co_await peer_request(executor, socket_, method, std::move(target),
                                           std::move(body), limit);
  }
  // ssh's stdin and stdout are one end of a socketpair: the other end is the API connection.
  // Its stderr goes to a memfd, for the error message when it fails (no key, host unknown).
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
    co_return std::unexpected(fmt::format("socketpair: {}", std::strerror(errno)));
  }
  UniqueFd ours(pair[0]);
  UniqueFd theirs(pair[1]);
  UniqueFd errors(static_cast<int>(::syscall(SYS_memfd_create, "ssh-stderr", MFD_CLOEXEC)));
  if (!errors) {
    co_return std::unexpected(fmt::format("memfd_create: {}", std::strerror(errno)));
  }
  // With the migration's master running, ssh rides it (no handshake); without one (a socket
  // path never has one; a master that died) it connects by itself.
  const bool shared = master_ && master_->running();
  LaunchSpec spec;
  spec.argv = ssh_options_;
  if (shared) {
    spec.argv.insert(spec.argv.end(),
                     {"-S", master_->control_path(), "-o", "ControlMaster=no"});
  }
  spec.argv.insert(spec.argv.end(), {"--", ssh_host_, remote_command_});
  spec.stdin_fd = theirs.get();
  spec.stdout_fd = theirs.get();
  spec.output_fd = errors.get();
  spec.seccomp = false;  // ssh is not the guest
  auto launched = launch(spec);
  if (!launched) {
    co_return std::unexpected(
        fmt::format("cannot run ssh for {}: {}", destination_, launched.error()));
  }
  theirs.reset();
  ProcessHandle ssh(executor, launched->pid, launched->pidfd, true);
  asio::local::stream_protocol::socket socket(executor, asio::local::stream_protocol(),
                                              ours.release());
  auto answer = co_await peer_exchange(std::move(socket), destination_, method,
                                              std::move(target), std::move(body), limit);
  // The exchange closed its end: ssh sees EOF, the remote proxy ends, so does ssh.
  // Named results: g++ 12 miscompiles `if (!co_await x)` in some coroutines.
  const bool ended = co_await ssh.wait_exit_for(5s);
  if (!ended) {
    ssh.signal(SIGKILL);
    const bool killed = co_await ssh.wait_exit_for(5s);
    (void)killed;
  }
  if (!answer) {
    std::string said = read_all(errors.get());
    if (master_ && !master_->running()) {
      // Why the shared connection went, when it did: the likelier cause of this failure.
      const std::string master_said = master_->said();
      said += fmt::format("{}the migration's ssh connection to {} ended{}{}",
                          said.empty() ? "" : "; ", ssh_host_, master_said.empty() ? "" : ": ",
                          master_said);
    }
    co_return std::unexpected(said.empty() ? answer.error()
                                           : fmt::format("{} (ssh: {})", answer.error(), said));
  }
  co_return answer;
}

}  // namespace qmd::daemon::migration
