#pragma once
// qmctl vnc --websocket: one browser connection (noVNC) in RFC 6455 framing, binary frames
// (Boost.Beast), relayed to qmd's upgraded VNC connection.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <functional>
#include <optional>
#include <string>

#include "daemon/qmctl/vnc_streams.hpp"

namespace qmd::qmctl::vnc {

// Opens qmd's side once the browser's handshake is good; nullopt (after saying why on
// stderr) when qmd refuses. `early` gets the bytes that came behind qmd's 101.
using OpenQmd = std::function<std::optional<QmdSocket>(std::string& early)>;

// Reads the browser's HTTP request (bounded, within a deadline), refuses any target other
// than "/" + token, accepts the WebSocket upgrade, then relays until either end goes. True
// when it relayed (the handshake and qmd's upgrade succeeded).
template <typename Socket>
asio::awaitable<bool> websocket_session(Socket socket, std::string token, OpenQmd open_qmd);

}  // namespace qmd::qmctl::vnc
