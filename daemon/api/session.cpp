// One connection: SO_PEERCRED check, then requests answered in order (keep-alive) under
// header/body limits and a deadline for each whole request, then close.
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "daemon/api/body_limits.hpp"
#include "daemon/api/server_state.hpp"
#include "daemon/api/url.hpp"

namespace qmd::daemon::api::detail {

namespace {

namespace beast = boost::beast;
using Clock = std::chrono::steady_clock;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
// A response that does not drain in this long is abandoned (the peer stopped reading).
constexpr std::chrono::milliseconds kMinWriteTimeout{1000};

std::chrono::milliseconds write_timeout(const ServerOptions& options) {
  return std::max(options.read_timeout, kMinWriteTimeout);
}

PeerCred peer_of(Socket& socket) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (getsockopt(socket.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    return PeerCred{0, static_cast<uid_t>(-1), static_cast<gid_t>(-1)};  // refused below
  }
  return PeerCred{cred.pid, cred.uid, cred.gid};
}

bool has_token(std::string_view list, std::string_view token) {
  for (const auto& item : http::token_list{list}) {
    if (beast::iequals(item, token)) {
      return true;
    }
  }
  return false;
}

// The Beast request as the routes see it; nullopt when the target is malformed.
std::optional<Request> to_request(http::request<http::string_body>& message, const PeerCred& peer) {
  auto target = parse_target(message.target());
  if (!target) {
    return std::nullopt;
  }
  Request request;
  request.method = message.method();
  request.path = std::move(target->path);
  request.query = std::move(target->query);
  request.content_type = std::string(message[http::field::content_type]);
  request.body = std::move(message.body());
  request.wants_upgrade = has_token(message[http::field::connection], "upgrade") &&
                          !message[http::field::upgrade].empty();
  request.peer = peer;
  return request;
}

// The body is moved into the message, not copied (a list of 1 000 VMs is 125 KB).
asio::awaitable<void> write_response(ServerState& state, Connection& connection,
                                     Response response, bool keep_alive) {
  http::response<http::string_body> message{static_cast<http::status>(response.status), 11};
  message.set(http::field::server, "qmd");
  message.set(http::field::content_type, response.content_type);
  for (const auto& [name, value] : response.headers) {
    message.set(name, value);
  }
  message.body() = std::move(response.body);
  message.keep_alive(keep_alive);
  message.prepare_payload();
  connection.arm(write_timeout(state.options), Connection::OnExpiry::close);
  co_await http::async_write(connection.socket, message, kTuple);
  connection.disarm();
}

// Status line and headers, no Content-Length: the body is whatever the stream writes until
// the connection closes (or, after 101, a different protocol altogether).
asio::awaitable<bool> write_stream_head(ServerState& state, Connection& connection,
                                        const Response& response) {
  http::response<http::empty_body> message{static_cast<http::status>(response.status), 11};
  message.set(http::field::server, "qmd");
  if (response.status != 101) {
    message.set(http::field::content_type, response.content_type);
  }
  for (const auto& [name, value] : response.headers) {
    message.set(name, value);
  }
  message.set(http::field::connection, response.status == 101 ? "Upgrade" : "close");
  http::response_serializer<http::empty_body> serializer{message};
  connection.arm(write_timeout(state.options), Connection::OnExpiry::close);
  auto [ec, n] = co_await http::async_write_header(connection.socket, serializer, kTuple);
  connection.disarm();
  co_return !ec;
}

asio::awaitable<Response> call_handler(ServerState& state, Request request) {
  std::string failure;
  try {
    co_return co_await state.handler(std::move(request));
  } catch (const std::exception& e) {
    failure = e.what();
  } catch (...) {
    failure = "unknown exception";
  }
  spdlog::error("api: handler failed: {}", failure);
  co_return error_response(500, "Internal", failure);
}

// The most unparsed bytes a connection may hold: a whole header, or one read of body.
std::size_t read_buffer_limit(const ServerOptions& options) {
  return options.max_header_bytes + 128 * 1024;
}

// Why a request could not be read, as the answer to send (nullopt: just close).
std::optional<Response> read_failure(const beast::error_code& ec, bool timed_out, bool got_some,
                                     const ServerOptions& options, BodyKind kind) {
  if (timed_out) {
    if (!got_some) {
      return std::nullopt;  // an idle keep-alive connection, or a client that never spoke
    }
    return error_response(
        408, "Timeout",
        "request not complete within " + std::to_string(options.read_timeout.count()) + " ms");
  }
  if (ec == http::error::header_limit) {
    return error_response(
        431, "TooLarge",
        "request headers exceed " + std::to_string(options.max_header_bytes) + " bytes");
  }
  if (ec == http::error::body_limit) {
    return error_response(413, "TooLarge", body_limit_message(options.body_limits, kind));
  }
  if (ec == http::error::buffer_overflow) {  // a chunk header or trailer that never ends
    return error_response(431, "TooLarge",
                          "a chunk header or trailer exceeds the read buffer of " +
                              std::to_string(read_buffer_limit(options)) + " bytes");
  }
  if (ec.category() == http::make_error_code(http::error::bad_method).category() &&
      ec != http::error::end_of_stream && ec != http::error::partial_message) {
    return error_response(400, "BadRequest", "malformed HTTP request: " + ec.message());
  }
  return std::nullopt;  // the peer went away
}

struct ReadResult {
  bool complete = false;
  std::optional<Response> answer;  // when not complete: what to say before closing
  bool large = false;              // the body was big enough to leave heap behind
};

// One request: the header first, so that the body's limit can follow the route, then the
// body, both within read_timeout.
asio::awaitable<ReadResult> read_request(ServerState& state, Connection& connection,
                                         beast::flat_buffer& buffer,
                                         http::request_parser<http::string_body>& parser) {
  constexpr std::size_t kLargeBody = 16 * 1024;
  const auto& options = state.options;
  parser.header_limit(static_cast<std::uint32_t>(options.max_header_bytes));
  // Unlimited until the request line says which limit applies (Beast would otherwise judge a
  // Content-Length by the wrong one while the header is read).
  parser.body_limit(boost::none);
  BodyKind kind = BodyKind::other;
  connection.arm(options.read_timeout, Connection::OnExpiry::stop_reading);
  auto [ec, n] = co_await http::async_read_header(connection.socket, buffer, parser, kTuple);
  if (!ec && !connection.timed_out) {
    kind = body_kind(parser.get().method(), parser.get().target());
    const std::size_t limit = body_limit(options.body_limits, kind);
    parser.body_limit(limit);  // binds a chunked body as it comes
    if (parser.content_length().value_or(0) > limit) {
      ec = http::error::body_limit;  // refused before any of it is read
    } else {
      auto [body_ec, body_n] =
          co_await http::async_read(connection.socket, buffer, parser, kTuple);
      ec = body_ec;
    }
  }
  connection.disarm();
  ReadResult result;
  result.large = parser.is_header_done() && parser.content_length().value_or(0) >= kLargeBody;
  if (ec || connection.timed_out) {
    result.answer = read_failure(ec, connection.timed_out, parser.got_some(), options, kind);
    // A refused or broken request may have grown the heap; a plain hang-up did not.
    result.large = result.large || buffer.capacity() >= kLargeBody;
    co_return result;
  }
  result.complete = true;
  co_return result;
}

// The answer that refuses this peer (403 outside the API group, 503 over a connection cap),
// or nullopt when it may talk; then it counts against its caps until ServerState::release.
std::optional<Response> refuse_peer(ServerState& state, const PeerCred& peer) {
  if (!peer_allowed(peer, state.options.group)) {
    spdlog::warn("api: refused pid={} uid={}: not root, qmd's user or in its group", peer.pid,
                 peer.uid);
    return error_response(403, "Forbidden", "uid " + std::to_string(peer.uid) + " may not use qmd");
  }
  auto refusal = state.admit(peer);
  if (!refusal) {
    return std::nullopt;
  }
  return error_response(503, "Unavailable", *refusal);
}

void log_request(const Request& request, unsigned status, Clock::time_point started) {
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count();
  spdlog::debug("api: {} {} {} {}ms pid={} uid={}", std::string(http::to_string(request.method)),
                request.path, status, ms, request.peer.pid, request.peer.uid);
}

// Answers one request that was read whole; false when the connection must close after it.
asio::awaitable<bool> answer(ServerState& state, Connection& connection,
                             http::request_parser<http::string_body>& parser,
                             Clock::time_point started) {
  const bool keep_alive = parser.get().keep_alive();
  auto request = to_request(parser.get(), connection.peer);
  Response response;
  Request logged;
  logged.peer = connection.peer;
  if (!request) {
    response = error_response(400, "BadRequest", "malformed request target");
    logged.method = parser.get().method();
    logged.path = std::string(parser.get().target());
  } else {
    logged.method = request->method;
    logged.path = request->path;
    response = co_await call_handler(state, std::move(*request));
  }
  log_request(logged, response.status, started);
  if (response.stream) {
    const bool head_written = co_await write_stream_head(state, connection, response);
    if (head_written) {
      try {
        co_await response.stream(connection.socket);
      } catch (const std::exception& e) {
        spdlog::warn("api: stream {} ended with: {}", logged.path, e.what());
      }
    }
    co_return false;
  }
  const bool keep = keep_alive && request.has_value() && !state.stopping;
  co_await write_response(state, connection, std::move(response), keep);
  co_return keep && connection.socket.is_open();
}

}  // namespace

asio::awaitable<void> run_session(std::shared_ptr<ServerState> state,
                                  std::shared_ptr<Connection> connection) {
  const std::uint64_t id = state->next_id++;
  state->register_connection(id, connection);
  struct Unregister {
    ServerState& state;
    std::uint64_t id;
    ~Unregister() { state.unregister_connection(id); }
  } unregister{*state, id};

  connection->peer = peer_of(connection->socket);
  if (auto refused = refuse_peer(*state, connection->peer)) {
    co_await write_response(*state, *connection, std::move(*refused), false);
    connection->close();
    co_return;
  }
  struct Release {
    ServerState& state;
    uid_t uid;
    ~Release() { state.release(uid); }
  } release{*state, connection->peer.uid};

  // Bounded: Beast does not apply the header limit to chunk headers and trailers, which would
  // otherwise grow this buffer for as long as a client sends them.
  beast::flat_buffer buffer{read_buffer_limit(state->options)};
  for (bool first = true, more = true; more && !state->stopping; first = false) {
    connection->busy = false;
    if (!first && buffer.size() == 0) {
      connection->arm(state->options.idle_timeout, Connection::OnExpiry::stop_reading);
      auto [ec] = co_await connection->socket.async_wait(Socket::wait_read, kTuple);
      connection->disarm();
      if (ec || connection->timed_out || state->stopping) {
        break;
      }
    }
    connection->busy = true;
    const auto started = Clock::now();
    bool large = false;
    {
      http::request_parser<http::string_body> parser;
      ReadResult read = co_await read_request(*state, *connection, buffer, parser);
      large = read.large;
      if (read.complete) {
        more = co_await answer(*state, *connection, parser, started);
      } else {
        more = false;
        if (read.answer) {
          spdlog::debug("api: bad request from pid={}: {}", connection->peer.pid,
                        read.answer->body);
          co_await write_response(*state, *connection, std::move(*read.answer), false);
        }
      }
    }  // the body is gone: now its heap can go back to the system
    if (large) {
      state->trim_heap_soon();
    }
  }
  connection->close();
}

}  // namespace qmd::daemon::api::detail
