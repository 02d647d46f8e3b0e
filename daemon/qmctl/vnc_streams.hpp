#pragma once
// Internal to qmctl vnc (vnc_relay.cpp, vnc_websocket.cpp): byte pumps with write deadlines
// between the viewer's socket and qmd's upgraded connection.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <string>

#include "daemon/api/byte_pump.hpp"

namespace qmd::qmctl::vnc {

namespace asio = boost::asio;
using QmdSocket = asio::local::stream_protocol::socket;
inline constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
// A viewer or qmd that takes no bytes for this long is gone.
inline constexpr std::chrono::seconds kWriteDeadline{20};
inline constexpr std::size_t kChunk = 16 * 1024;

// Writes all of `data` within kWriteDeadline; false when the peer failed or stalled.
template <typename Stream>
asio::awaitable<bool> write_within(Stream& stream, asio::const_buffer data) {
  return daemon::api::write_within(stream, data, kWriteDeadline);
}

// Copies bytes one way until either side ends or a write stalls.
template <typename From, typename To>
asio::awaitable<void> pump(From& from, To& to) {
  return daemon::api::pump<kChunk>(from, to, kWriteDeadline);
}

}  // namespace qmd::qmctl::vnc
