#pragma once
// HTTP/1.1 over a Unix socket (Boost.Beast). Each connection is its own coroutine; requests on
// one connection are answered in order (keep-alive), connections run concurrently. The
// server checks the peer (SO_PEERCRED: root, qmd's own uid, or a member of the allowed
// group, else 403), caps open connections per uid and in total (503, root keeps a reserve),
// bounds header and body sizes (431/413, the body's limit by route), and closes a connection
// that stalls mid-request (408 when it can still say so). Every handler exception becomes a
// 500. After a large or malformed request the freed heap goes back to the system.
#include <sys/types.h>

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstddef>
#include <expected>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/api/admission.hpp"
#include "daemon/api/body_limits.hpp"
#include "daemon/api/http_types.hpp"

namespace qmd::daemon::api {

struct ServerOptions {
  std::string socket_path;                   // created with mode 0660 (0600 with no group)
  std::optional<gid_t> group;                // --group: owner group of the socket + allowed
  std::size_t max_header_bytes = 16 * 1024;
  BodyLimits body_limits;
  ConnectionCaps caps;
  std::chrono::milliseconds read_timeout{10000};  // for a whole request, headers + body
  std::chrono::milliseconds idle_timeout{60000};  // between keep-alive requests
};

class HttpServer {
 public:
  // Binds and listens (a stale socket file left by a dead qmd is replaced; a live one is an
  // error "another qmd is listening on PATH"). Start serving with start().
  static std::expected<std::unique_ptr<HttpServer>, std::string> bind(
      asio::any_io_executor executor, ServerOptions options, Handler handler);
  ~HttpServer();  // stops accepting; removes the socket file

  void start();  // spawns the accept loop on the executor
  void stop();   // stops accepting; open connections finish their current request
  const ServerOptions& options() const;
  std::size_t connection_count() const;  // open connections (for tests and metrics)

 private:
  struct Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Allowed to use the API: root, the same uid as qmd, or `group` among the peer's groups
// (primary or supplementary, read from /proc/PID/status when needed).
bool peer_allowed(const PeerCred& peer, std::optional<gid_t> group);
// The rule itself, with the facts given: qmd's own uid and the peer's supplementary groups.
bool peer_allowed(const PeerCred& peer, std::optional<gid_t> group, uid_t server_uid,
                  std::span<const gid_t> peer_groups);
// The supplementary groups in the text of /proc/PID/status (its "Groups:" line).
std::vector<gid_t> groups_from_status(std::string_view status_text);

}  // namespace qmd::daemon::api
