#include "daemon/qmctl/vnc_websocket.hpp"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket.hpp>
#include <iostream>

namespace qmd::qmctl::vnc {

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using namespace asio::experimental::awaitable_operators;

constexpr std::chrono::seconds kRequestDeadline{10};
constexpr std::uint32_t kHeaderLimit = 8 * 1024;
// An RFB client message is small; a browser's frames are a few KiB at most.
constexpr std::size_t kMessageLimit = 64 * 1024;

template <typename Socket>
asio::awaitable<void> refuse(Socket& socket, http::status status, std::string text) {
  http::response<http::string_body> response{status, 11};
  response.set(http::field::content_type, "text/plain");
  response.set(http::field::connection, "close");
  response.body() = std::move(text) + "\n";
  response.prepare_payload();
  asio::steady_timer timer(socket.get_executor(), kRequestDeadline);
  auto write = http::async_write(socket, response, kTuple);
  auto expiry = timer.async_wait(kTuple);
  auto raced = std::move(write) || std::move(expiry);
  co_await std::move(raced);
}

// The request line and headers, or nullopt (too big, malformed, too slow).
template <typename Socket>
asio::awaitable<std::optional<http::request<http::empty_body>>> read_request(
    Socket& socket, beast::flat_buffer& buffer) {
  http::request_parser<http::empty_body> parser;
  parser.header_limit(kHeaderLimit);
  parser.body_limit(0);
  asio::steady_timer timer(socket.get_executor(), kRequestDeadline);
  auto read = http::async_read(socket, buffer, parser, kTuple);
  auto expiry = timer.async_wait(kTuple);
  auto raced = std::move(read) || std::move(expiry);
  auto outcome = co_await std::move(raced);
  if (outcome.index() != 0 || std::get<0>(std::get<0>(outcome))) {
    co_return std::nullopt;
  }
  co_return parser.release();
}

// Browser -> qmd: each message's bytes as they are.
template <typename Ws>
asio::awaitable<void> from_browser(Ws& ws, QmdSocket& qmd) {
  for (;;) {
    beast::flat_buffer message;
    auto [ec, n] = co_await ws.async_read(message, kTuple);
    if (ec) {
      co_return;
    }
    const bool written = co_await write_within(qmd, message.data());
    if (!written) {
      co_return;
    }
  }
}

// qmd -> browser: whatever arrives, as one binary message, within the write deadline.
template <typename Ws>
asio::awaitable<void> to_browser(QmdSocket& qmd, Ws& ws, std::string early) {
  std::array<char, kChunk> buffer{};
  for (;;) {
    std::size_t n = 0;
    if (!early.empty()) {
      n = std::min(early.size(), buffer.size());
      std::copy_n(early.begin(), n, buffer.begin());
      early.erase(0, n);
    } else {
      const asio::mutable_buffer space = asio::buffer(buffer);
      auto [ec, got] = co_await qmd.async_read_some(space, kTuple);
      if (ec || got == 0) {
        co_return;
      }
      n = got;
    }
    asio::steady_timer timer(qmd.get_executor(), kWriteDeadline);
    const asio::const_buffer data = asio::buffer(buffer.data(), n);
    auto write = ws.async_write(data, kTuple);
    auto expiry = timer.async_wait(kTuple);
    auto raced = std::move(write) || std::move(expiry);
    auto outcome = co_await std::move(raced);
    if (outcome.index() != 0 || std::get<0>(std::get<0>(outcome))) {
      co_return;
    }
  }
}

bool offers_binary(const http::request<http::empty_body>& request) {
  const std::string_view offered = request[http::field::sec_websocket_protocol];
  return offered.find("binary") != std::string_view::npos;
}

}  // namespace

template <typename Socket>
asio::awaitable<bool> websocket_session(Socket socket, std::string token, OpenQmd open_qmd) {
  beast::flat_buffer buffer;
  auto request = co_await read_request(socket, buffer);
  if (!request) {
    co_return false;
  }
  if (request->target() != "/" + token) {
    co_await refuse(socket, http::status::forbidden,
                    "unknown path: use the WebSocket URL qmctl vnc printed");
    co_return false;
  }
  if (!websocket::is_upgrade(*request)) {
    co_await refuse(socket, http::status::bad_request,
                    "this is a WebSocket endpoint for noVNC (Upgrade: websocket)");
    co_return false;
  }
  std::string early;
  auto qmd = open_qmd(early);
  if (!qmd) {
    co_await refuse(socket, http::status::bad_gateway, "qmd refused the VNC connection");
    co_return false;
  }
  websocket::stream<Socket> ws(std::move(socket));
  auto timeouts = websocket::stream_base::timeout::suggested(beast::role_type::server);
  timeouts.idle_timeout = std::chrono::seconds(60);
  timeouts.keep_alive_pings = true;  // a quiet screen is no reason to drop the browser
  ws.set_option(timeouts);
  ws.read_message_max(kMessageLimit);
  ws.binary(true);
  const bool binary = offers_binary(*request);
  ws.set_option(websocket::stream_base::decorator([binary](websocket::response_type& response) {
    if (binary) {
      response.set(http::field::sec_websocket_protocol, "binary");
    }
  }));
  auto [ec] = co_await ws.async_accept(*request, kTuple);
  if (ec) {
    co_return false;
  }
  auto in = from_browser(ws, *qmd);
  auto out = to_browser(*qmd, ws, std::move(early));
  auto either = std::move(in) || std::move(out);
  co_await std::move(either);
  co_return true;
}

template asio::awaitable<bool> websocket_session<asio::ip::tcp::socket>(asio::ip::tcp::socket,
                                                                        std::string, OpenQmd);
template asio::awaitable<bool> websocket_session<QmdSocket>(QmdSocket, std::string, OpenQmd);

}  // namespace qmd::qmctl::vnc
