#include "daemon/qmctl/vnc_relay.hpp"

#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/json/serialize.hpp>
#include <csignal>
#include <fstream>
#include <iostream>
#include <sstream>

#include "daemon/qmctl/vnc_streams.hpp"
#include "daemon/qmctl/vnc_websocket.hpp"

namespace qmd::qmctl {

namespace {

using namespace vnc;
using tcp = asio::ip::tcp;
using UnixSocket = asio::local::stream_protocol::socket;

// Shared by every session of one relay.
struct Relay {
  const ApiClient& api;
  VncRelayOptions options;
  std::string token;  // the WebSocket path
  asio::io_context& io;
  bool qmd_refused = false;  // the last session qmd would not relay
};

std::string random_token() {
  unsigned char bytes[16];
  if (::getrandom(bytes, sizeof bytes, 0) != static_cast<ssize_t>(sizeof bytes)) {
    return {};
  }
  std::string hex;
  for (const unsigned char b : bytes) {
    constexpr char kDigits[] = "0123456789abcdef";
    hex += kDigits[b >> 4];
    hex += kDigits[b & 0xf];
  }
  return hex;
}

// qmd's upgraded VNC connection, or nullopt after saying why.
std::optional<QmdSocket> open_qmd(Relay& relay, std::string& early) {
  auto upgraded =
      relay.api.upgrade("/v1/vms/" + url_escape(relay.options.vm) + "/vnc", "qmd-vnc");
  if (!upgraded) {
    const auto& failure = upgraded.error();
    std::cerr << "qmctl vnc: "
              << (std::holds_alternative<std::string>(failure)
                      ? std::get<std::string>(failure)
                      : error_message(std::get<ApiResponse>(failure)))
              << "\n";
    relay.qmd_refused = true;
    return std::nullopt;
  }
  relay.qmd_refused = false;
  early = std::move(upgraded->early_bytes);
  boost::system::error_code ec;
  QmdSocket socket(relay.io);
  socket.assign(asio::local::stream_protocol(), upgraded->fd, ec);
  if (ec) {
    ::close(upgraded->fd);
    return std::nullopt;
  }
  return socket;
}

bool allowed_uid(long uid) {
  return uid >= 0 && (static_cast<uid_t>(uid) == ::getuid() || uid == 0);
}

bool peer_allowed(tcp::socket& socket) {
  boost::system::error_code ec;
  const auto peer = socket.remote_endpoint(ec);
  const auto local = socket.local_endpoint(ec);
  if (ec) {
    return false;
  }
  std::ifstream file("/proc/net/tcp");
  std::stringstream table;
  table << file.rdbuf();
  return allowed_uid(tcp_peer_uid(table.str(), peer.port(), local.port()));
}

bool peer_allowed(UnixSocket& socket) {
  ucred cred{};
  socklen_t size = sizeof cred;
  if (::getsockopt(socket.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &size) != 0) {
    return false;
  }
  return allowed_uid(cred.uid);
}

// True when it relayed (qmd took the connection).
template <typename Socket>
asio::awaitable<bool> raw_session(Relay& relay, Socket socket) {
  std::string early;
  auto qmd = open_qmd(relay, early);
  if (!qmd) {
    co_return false;
  }
  if (!early.empty()) {
    const bool written = co_await write_within(socket, asio::buffer(early));
    if (!written) {
      co_return true;
    }
  }
  using namespace asio::experimental::awaitable_operators;
  auto in = pump(socket, *qmd);
  auto out = pump(*qmd, socket);
  auto either = std::move(in) || std::move(out);
  co_await std::move(either);
  co_return true;
}

// With --once the relay ends when the first session that reached the VM ends, or qmd
// refused one (exit 1); a connection refused here (a wrong WebSocket path) does not count.
template <typename Socket>
asio::awaitable<void> session(Relay& relay, Socket socket) {
  bool relayed = false;
  if (relay.options.websocket) {
    OpenQmd opener = [&relay](std::string& early) { return open_qmd(relay, early); };
    relayed = co_await websocket_session(std::move(socket), relay.token, std::move(opener));
  } else {
    relayed = co_await raw_session(relay, std::move(socket));
  }
  if (relay.options.once && (relayed || relay.qmd_refused)) {
    relay.io.stop();
  }
}

template <typename Acceptor>
asio::awaitable<void> accept_loop(Relay& relay, Acceptor& acceptor) {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(kTuple);
    if (ec == asio::error::operation_aborted) {
      co_return;
    }
    if (ec) {
      continue;  // a connection that went before it was taken; keep accepting
    }
    if (!peer_allowed(socket)) {
      std::cerr << "qmctl vnc: refused a connection from another user\n";
      continue;
    }
    asio::co_spawn(relay.io, session(relay, std::move(socket)), asio::detached);
  }
}

void print_where(const Relay& relay, const std::string& address, std::uint16_t port) {
  const auto& o = relay.options;
  if (o.json) {
    boost::json::object out{{"vm", o.vm}, {"websocket", o.websocket}};
    if (o.unix_path.empty()) {
      out["address"] = address;
      out["port"] = port;
    } else {
      out["unix"] = o.unix_path;
    }
    if (o.websocket) {
      out["path"] = "/" + relay.token;
    }
    std::cout << boost::json::serialize(out) << std::endl;
    return;
  }
  if (!o.unix_path.empty()) {
    std::cout << o.vm << ": VNC" << (o.websocket ? " over WebSocket" : "") << " on "
              << o.unix_path << " (mode 0600)\n";
    if (!o.websocket) {
      std::cout << "  viewer:  vncviewer " << o.unix_path << "   (TigerVNC; or gvncviewer)\n";
    } else {
      std::cout << "  WebSocket path: /" << relay.token << "\n";
    }
  } else if (!o.websocket) {
    std::cout << o.vm << ": VNC on " << address << ":" << port
              << " (only your user may connect)\n"
              << "  viewer:  vncviewer " << address << "::" << port << "   (or gvncviewer "
              << address << "::" << port << ")\n";
  } else {
    std::cout << o.vm << ": VNC over WebSocket on ws://" << address << ":" << port << "/"
              << relay.token << "\n"
              << "  browser: file:///usr/share/novnc/vnc.html?host=" << address
              << "&port=" << port << "&path=" << relay.token << "&autoconnect=true"
              << "   (apt install novnc)\n";
  }
  std::cout << (o.once ? "It ends with the first session." : "Ctrl-C ends the relay.")
            << std::endl;
}

int serve_tcp(Relay& relay) {
  tcp::acceptor acceptor(relay.io);
  boost::system::error_code ec;
  const tcp::endpoint where(asio::ip::address_v4::loopback(), relay.options.port);
  acceptor.open(where.protocol(), ec);
  if (!ec) {
    acceptor.bind(where, ec);
  }
  if (!ec) {
    acceptor.listen(asio::socket_base::max_listen_connections, ec);
  }
  if (ec) {
    std::cerr << "qmctl vnc: cannot listen on 127.0.0.1:" << relay.options.port << ": "
              << ec.message() << " (pick another --port, or 0 for a free one)\n";
    return 1;
  }
  print_where(relay, "127.0.0.1", acceptor.local_endpoint().port());
  asio::co_spawn(relay.io, accept_loop(relay, acceptor), asio::detached);
  relay.io.run();
  return relay.options.once && relay.qmd_refused ? 1 : 0;
}

int serve_unix(Relay& relay) {
  const std::string& path = relay.options.unix_path;
  asio::local::stream_protocol::acceptor acceptor(relay.io);
  boost::system::error_code ec;
  acceptor.open(asio::local::stream_protocol(), ec);
  const mode_t saved = ::umask(0177);  // the socket file is 0600 from its first moment
  if (!ec) {
    acceptor.bind(asio::local::stream_protocol::endpoint(path), ec);
  }
  ::umask(saved);
  if (ec) {
    std::cerr << "qmctl vnc: cannot listen on " << path << ": " << ec.message()
              << (ec == boost::system::errc::address_in_use ? " (remove it or pick another path)"
                                                            : "")
              << "\n";
    return 1;
  }
  acceptor.listen(asio::socket_base::max_listen_connections, ec);
  print_where(relay, "", 0);
  asio::co_spawn(relay.io, accept_loop(relay, acceptor), asio::detached);
  relay.io.run();
  ::unlink(path.c_str());
  return relay.options.once && relay.qmd_refused ? 1 : 0;
}

}  // namespace

long tcp_peer_uid(const std::string& table, std::uint16_t peer_port, std::uint16_t local_port) {
  char peer[8];
  char local[8];
  std::snprintf(peer, sizeof peer, ":%04X", peer_port);
  std::snprintf(local, sizeof local, ":%04X", local_port);
  std::istringstream lines(table);
  std::string line;
  std::getline(lines, line);  // the header
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string slot, from, to, state, queues, timer, retransmits;
    long uid = -1;
    if (!(fields >> slot >> from >> to >> state >> queues >> timer >> retransmits >> uid)) {
      continue;
    }
    const bool loopback = from.starts_with("0100007F:") && to.starts_with("0100007F:");
    if (loopback && from.ends_with(peer) && to.ends_with(local)) {
      return uid;
    }
  }
  return -1;
}

int run_vnc_relay(const ApiClient& client, const VncRelayOptions& options) {
  asio::io_context io(1);
  Relay relay{client, options, random_token(), io};
  if (relay.token.empty()) {
    std::cerr << "qmctl vnc: getrandom failed\n";
    return 1;
  }
  std::signal(SIGPIPE, SIG_IGN);
  asio::signal_set signals(io, SIGINT, SIGTERM, SIGHUP);
  signals.async_wait([&io](const boost::system::error_code&, int) { io.stop(); });
  return options.unix_path.empty() ? serve_tcp(relay) : serve_unix(relay);
}

}  // namespace qmd::qmctl
