#include "daemon/migration/peer_http.hpp"

#include <fmt/format.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/basic_stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <cerrno>
#include <cstring>

#include "daemon/migration/peer_protocol.hpp"

namespace qmd::daemon::migration {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using Stream = beast::basic_stream<asio::local::stream_protocol>;

namespace {

constexpr std::uint64_t kBodyLimit = kMaxReplyBytes;
constexpr std::uint64_t kProbeBodyLimit = 256 << 10;  // /v1/host is a few KiB
constexpr std::uint32_t kHeaderLimit = 16 << 10;

// Request and response on a connected stream whose deadline is set; the response's body at
// most `body_limit` bytes.
asio::awaitable<std::expected<PeerResponse, std::string>> exchange(
    Stream& stream, const std::string& peer, http::verb method, const std::string& target,
    std::string body, std::chrono::milliseconds limit, std::uint64_t body_limit = kBodyLimit) {
  boost::system::error_code ec;
  http::request<http::string_body> request{method, target, 11};
  request.set(http::field::host, "qmd");
  if (!body.empty()) {
    request.set(http::field::content_type, "application/json");
    request.body() = std::move(body);
  }
  request.prepare_payload();
  co_await http::async_write(stream, request, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    co_return std::unexpected(fmt::format("qmd at {}: sending {} {}: {}", peer,
                                          std::string(http::to_string(method)), target,
                                          ec == beast::error::timeout ? "timed out"
                                                                      : ec.message()));
  }
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(body_limit);
  parser.header_limit(kHeaderLimit);
  co_await http::async_read(stream, buffer, parser,
                            asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    co_return std::unexpected(fmt::format(
        "qmd at {}: no answer to {} {}: {}", peer, std::string(http::to_string(method)),
        target,
        ec == beast::error::timeout
            ? fmt::format("timed out after {} s", limit.count() / 1000)
            : ec.message()));
  }
  beast::error_code ignored;
  stream.socket().shutdown(asio::socket_base::shutdown_both, ignored);
  auto response = parser.release();
  co_return PeerResponse{response.result_int(), std::move(response.body())};
}

// Who listens on a connected Unix socket: SO_PEERCRED's uid, or what failed.
std::expected<uid_t, std::string> listener_uid(Stream& stream) {
  ucred cred{};
  socklen_t size = sizeof(cred);
  if (::getsockopt(stream.socket().native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &size) !=
      0) {
    return std::unexpected(fmt::format("SO_PEERCRED: {}", std::strerror(errno)));
  }
  return cred.uid;
}

bool trusted_uid(uid_t uid) { return uid == 0 || uid == ::geteuid(); }

// Within the deadline already set on `stream`.
asio::awaitable<std::expected<void, std::string>> connect_peer(Stream& stream,
                                                              const std::string& socket_path) {
  boost::system::error_code ec;
  co_await stream.async_connect(asio::local::stream_protocol::endpoint(socket_path),
                                asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    co_return std::unexpected(
        fmt::format("cannot reach qmd at {}: {}", socket_path, ec.message()));
  }
  co_return std::expected<void, std::string>{};
}

}  // namespace

std::expected<void, std::string> check_qmd_host_reply(const PeerResponse& response,
                                                      const std::string& peer) {
  if (response.status != 200 || !is_qmd_host_document(response.body)) {
    return std::unexpected(fmt::format(
        "{} does not answer as a qmd (GET /v1/host gave HTTP {}, not qmd's host document): a "
        "destination must be another qmd's API socket",
        peer, response.status));
  }
  return {};
}

asio::awaitable<std::expected<void, std::string>> probe_local_qmd(
    asio::any_io_executor executor, std::string socket_path, std::chrono::milliseconds limit) {
  struct stat st {};
  if (::lstat(socket_path.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)) {
    co_return std::unexpected(fmt::format(
        "destination {} is not a socket (a link is not followed): it must be another qmd's "
        "API socket",
        socket_path));
  }
  if (!trusted_uid(st.st_uid)) {
    co_return std::unexpected(fmt::format(
        "destination {} belongs to uid {}, not to root or this qmd's user: a qmd's API socket "
        "is root's",
        socket_path, st.st_uid));
  }
  Stream stream(executor);
  stream.expires_after(limit);
  auto connected = co_await connect_peer(stream, socket_path);
  if (!connected) {
    co_return std::unexpected(connected.error());
  }
  auto uid = listener_uid(stream);
  if (!uid || !trusted_uid(*uid)) {
    co_return std::unexpected(fmt::format(
        "destination {}: the process listening there is {}, not root or this qmd's user",
        socket_path, uid ? fmt::format("uid {}", *uid) : uid.error()));
  }
  auto answer = co_await exchange(stream, socket_path, http::verb::get, "/v1/host", "", limit,
                                  kProbeBodyLimit);
  if (!answer) {
    co_return std::unexpected(fmt::format("{} (a destination must be another qmd's API socket)",
                                          answer.error()));
  }
  co_return check_qmd_host_reply(*answer, socket_path);
}

asio::awaitable<std::expected<PeerResponse, std::string>> peer_request(
    asio::any_io_executor executor, std::string socket_path, http::verb method,
    std::string target, std::string body, std::chrono::milliseconds limit) {
  Stream stream(executor);
  // One deadline for connect, write and read together: a peer that stalls anywhere fails.
  stream.expires_after(limit);
  auto connected = co_await connect_peer(stream, socket_path);
  if (!connected) {
    co_return std::unexpected(connected.error());
  }
  co_return co_await exchange(stream, socket_path, method, target, std::move(body), limit);
}

asio::awaitable<std::expected<PeerResponse, std::string>> peer_exchange(
    asio::local::stream_protocol::socket socket, std::string peer, http::verb method,
    std::string target, std::string body, std::chrono::milliseconds limit) {
  Stream stream(std::move(socket));
  stream.expires_after(limit);
  co_return co_await exchange(stream, peer, method, target, std::move(body), limit);
}

}  // namespace qmd::daemon::migration
