// Blocking HTTP/1.1 over qmd's Unix socket: Beast's async operations on a private io_context,
// run to completion, so that every step has a deadline (Beast's sync calls have none).
#include "daemon/qmctl/api_client.hpp"

#include <fcntl.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <cctype>
#include <limits>

namespace qmd::qmctl {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using Stream = beast::basic_stream<asio::local::stream_protocol>;
constexpr auto kNoLimit = std::numeric_limits<std::uint64_t>::max();

// One connection and the loop that drives it.
class Exchange {
 public:
  explicit Exchange(const std::string& path) : path_(path), stream_(io_) {}

  // Runs one async operation to completion; returns its error.
  template <class Start>
  beast::error_code run(Start&& start) {
    beast::error_code result;
    start([&result](beast::error_code ec, auto&&...) { result = ec; });
    io_.restart();
    io_.run();
    return result;
  }

  std::expected<void, std::string> connect(std::chrono::milliseconds timeout) {
    stream_.expires_after(timeout);
    const auto ec = run([&](auto handler) {
      stream_.async_connect(asio::local::stream_protocol::endpoint(path_), handler);
    });
    if (ec) {
      const std::string why = ec == beast::error::timeout
                                  ? "no answer within " + std::to_string(timeout.count()) + " ms"
                                  : ec.message();
      return std::unexpected("cannot reach qmd at " + path_ + ": " + why +
                             " (is qmd running? -s PATH or QMD_SOCKET chooses another)");
    }
    return {};
  }

  std::expected<void, std::string> send(http::request<http::string_body>& request) {
    request.set(http::field::host, "qmd");
    request.set(http::field::user_agent, "qmctl");
    request.prepare_payload();
    const auto ec = run([&](auto handler) { http::async_write(stream_, request, handler); });
    return check(ec, "sending the request");
  }

  std::expected<void, std::string> check(beast::error_code ec, std::string_view doing) const {
    if (!ec) {
      return {};
    }
    if (ec == beast::error::timeout) {
      return std::unexpected("qmd at " + path_ + " did not answer in time (" + std::string(doing) +
                             ")");
    }
    return std::unexpected("talking to qmd at " + path_ + ": " + std::string(doing) + ": " +
                           ec.message());
  }

  Stream& stream() { return stream_; }
  beast::flat_buffer& buffer() { return buffer_; }

 private:
  std::string path_;
  asio::io_context io_;
  Stream stream_;
  beast::flat_buffer buffer_;
};

template <class Body>
ApiResponse to_response(http::response<Body>& message, std::string body) {
  return ApiResponse{message.result_int(), std::string(message[http::field::content_type]),
                     std::move(body)};
}

http::request<http::string_body> make_request(std::string_view method, std::string_view target) {
  http::request<http::string_body> request;
  request.method_string(method);
  request.target(target);
  request.version(11);
  request.keep_alive(false);
  return request;
}

}  // namespace

ApiClient::ApiClient(std::string socket_path, ApiTimeouts timeouts)
    : socket_path_(std::move(socket_path)), timeouts_(timeouts) {}

std::expected<ApiResponse, std::string> ApiClient::request(std::string_view method,
                                                           std::string_view target,
                                                           std::string_view body,
                                                           std::string_view content_type) const {
  Exchange exchange(socket_path_);
  if (auto ok = exchange.connect(timeouts_.connect); !ok) {
    return std::unexpected(ok.error());
  }
  exchange.stream().expires_after(timeouts_.request);
  auto request = make_request(method, target);
  if (!content_type.empty()) {
    request.set(http::field::content_type, content_type);
  }
  request.body() = body;
  if (auto ok = exchange.send(request); !ok) {
    return std::unexpected(ok.error());
  }
  http::response_parser<http::string_body> parser;
  parser.body_limit(kNoLimit);
  const auto ec = exchange.run([&](auto handler) {
    http::async_read(exchange.stream(), exchange.buffer(), parser, handler);
  });
  if (auto ok = exchange.check(ec, "reading the answer"); !ok) {
    return std::unexpected(ok.error());
  }
  auto& message = parser.get();
  return to_response(message, std::move(message.body()));
}

std::expected<ApiResponse, std::string> ApiClient::stream(std::string_view target,
                                                          const ChunkFn& on_chunk,
                                                          bool deadline) const {
  Exchange exchange(socket_path_);
  if (auto ok = exchange.connect(timeouts_.connect); !ok) {
    return std::unexpected(ok.error());
  }
  exchange.stream().expires_after(timeouts_.request);
  auto request = make_request("GET", target);
  if (auto ok = exchange.send(request); !ok) {
    return std::unexpected(ok.error());
  }
  http::response_parser<http::buffer_body> parser;
  parser.body_limit(kNoLimit);
  auto ec = exchange.run([&](auto handler) {
    http::async_read_header(exchange.stream(), exchange.buffer(), parser, handler);
  });
  if (auto ok = exchange.check(ec, "reading the answer"); !ok) {
    return std::unexpected(ok.error());
  }
  const unsigned status = parser.get().result_int();
  const bool success = status / 100 == 2;
  if (!deadline && success) {
    exchange.stream().expires_never();
  }
  std::string kept;  // an error's body
  char chunk[16 * 1024];
  while (!parser.is_done()) {
    parser.get().body().data = chunk;
    parser.get().body().size = sizeof chunk;
    // read_some: hand over what arrived now (a follow stream trickles), not a full buffer.
    ec = exchange.run([&](auto handler) {
      http::async_read_some(exchange.stream(), exchange.buffer(), parser, handler);
    });
    if (ec == http::error::need_buffer) {
      ec = {};
    }
    const std::size_t got = sizeof chunk - parser.get().body().size;
    if (success && got > 0) {
      on_chunk(std::string_view(chunk, got));
    } else {
      kept.append(chunk, got);
    }
    if (auto ok = exchange.check(ec, "reading the stream"); !ok) {
      return std::unexpected(ok.error());
    }
  }
  return to_response(parser.get(), std::move(kept));
}

std::expected<Upgraded, std::variant<ApiResponse, std::string>> ApiClient::upgrade(
    std::string_view target, std::string_view protocol) const {
  using Failure = std::variant<ApiResponse, std::string>;
  Exchange exchange(socket_path_);
  if (auto ok = exchange.connect(timeouts_.connect); !ok) {
    return std::unexpected(Failure{ok.error()});
  }
  exchange.stream().expires_after(timeouts_.request);
  auto request = make_request("GET", target);
  request.set(http::field::connection, "Upgrade");
  request.set(http::field::upgrade, protocol);
  if (auto ok = exchange.send(request); !ok) {
    return std::unexpected(Failure{ok.error()});
  }
  http::response_parser<http::string_body> parser;
  parser.body_limit(kNoLimit);
  auto ec = exchange.run([&](auto handler) {
    http::async_read_header(exchange.stream(), exchange.buffer(), parser, handler);
  });
  if (auto ok = exchange.check(ec, "reading the answer"); !ok) {
    return std::unexpected(Failure{ok.error()});
  }
  if (parser.get().result() != http::status::switching_protocols) {
    ec = exchange.run([&](auto handler) {
      http::async_read(exchange.stream(), exchange.buffer(), parser, handler);
    });
    if (auto ok = exchange.check(ec, "reading the answer"); !ok) {
      return std::unexpected(Failure{ok.error()});
    }
    auto& message = parser.get();
    return std::unexpected(Failure{to_response(message, std::move(message.body()))});
  }
  const auto early = exchange.buffer().data();
  Upgraded upgraded;
  upgraded.early_bytes.assign(static_cast<const char*>(early.data()), early.size());
  exchange.stream().expires_never();
  upgraded.fd = exchange.stream().release_socket().release();
  // Asio left it non-blocking; the console uses plain blocking writes and poll().
  fcntl(upgraded.fd, F_SETFL, fcntl(upgraded.fd, F_GETFL) & ~O_NONBLOCK);
  return upgraded;
}

std::string url_escape(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(c);
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out;
}

std::string error_message(const ApiResponse& response) {
  boost::system::error_code ec;
  const auto value = boost::json::parse(response.body, ec);
  if (!ec && value.is_object()) {
    const auto* error = value.as_object().if_contains("error");
    if (error != nullptr && error->is_object()) {
      const auto* message = error->as_object().if_contains("message");
      if (message != nullptr && message->is_string()) {
        return std::string(message->as_string());
      }
    }
  }
  std::string body = response.body;
  while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) {
    body.pop_back();
  }
  return "HTTP " + std::to_string(response.status) + (body.empty() ? "" : ": " + body);
}

}  // namespace qmd::qmctl
