#include "daemon/api/remote_client.hpp"

#include <fmt/format.h>

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/basic_stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/parse.hpp>

namespace qmd::daemon::api {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using Stream = beast::basic_stream<asio::local::stream_protocol>;

namespace {

// Request and response on a connected stream whose deadline is set.
asio::awaitable<std::expected<RemoteResponse, std::string>> exchange(
    Stream& stream, const std::string& peer, http::verb method, const std::string& target,
    std::string body, std::chrono::milliseconds limit) {
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
  http::response<http::string_body> response;
  co_await http::async_read(stream, buffer, response,
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
  co_return RemoteResponse{response.result_int(), std::move(response.body())};
}

}  // namespace

asio::awaitable<std::expected<RemoteResponse, std::string>> remote_request(
    asio::any_io_executor executor, std::string socket_path, http::verb method,
    std::string target, std::string body, std::chrono::milliseconds limit) {
  Stream stream(executor);
  // One deadline for connect, write and read together: a peer that stalls anywhere fails.
  stream.expires_after(limit);
  boost::system::error_code ec;
  co_await stream.async_connect(asio::local::stream_protocol::endpoint(socket_path),
                                asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    co_return std::unexpected(fmt::format("cannot reach qmd at {}: {}", socket_path,
                                          ec.message()));
  }
  co_return co_await exchange(stream, socket_path, method, target, std::move(body), limit);
}

asio::awaitable<std::expected<RemoteResponse, std::string>> remote_exchange(
    asio::local::stream_protocol::socket socket, std::string peer, http::verb method,
    std::string target, std::string body, std::chrono::milliseconds limit) {
  Stream stream(std::move(socket));
  stream.expires_after(limit);
  co_return co_await exchange(stream, peer, method, target, std::move(body), limit);
}

std::string remote_error_message(const RemoteResponse& response) {
  boost::system::error_code ec;
  const auto value = boost::json::parse(response.body, ec);
  if (!ec && value.is_object()) {
    if (const auto* error = value.as_object().if_contains("error"); error && error->is_object()) {
      if (const auto* message = error->as_object().if_contains("message");
          message && message->is_string()) {
        return std::string(message->as_string());
      }
    }
  }
  return fmt::format("HTTP {}: {}", response.status, response.body);
}

}  // namespace qmd::daemon::api
