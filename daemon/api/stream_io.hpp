#pragma once
// Socket work for the stream routes (events, console, VNC) that must never stall the loop: a
// write with a deadline, a connect with a deadline that does not block, and noticing a
// client that went away while the stream waits for something else.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/system/error_code.hpp>
#include <chrono>
#include <string>

#include "daemon/api/byte_pump.hpp"
#include "daemon/async/unix_connect.hpp"

namespace qmd::daemon::api {

namespace asio = boost::asio;
using StreamSocket = asio::local::stream_protocol::socket;

// Copies bytes both ways between `a` and `b` (4 KiB at a time each way) until either side
// ends or a write misses `deadline` (a peer that stopped reading); the other way is cancelled.
asio::awaitable<void> relay(StreamSocket& a, StreamSocket& b, std::chrono::milliseconds deadline);

// Completes when the client sent something or closed its end; true when it closed (or
// failed). Bytes it sent are read and dropped (a follower has nothing to say).
asio::awaitable<bool> client_closed(StreamSocket& socket);

}  // namespace qmd::daemon::api
