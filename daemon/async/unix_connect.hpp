#pragma once
// Connecting to a Unix socket without stalling the loop: QEMU's console and VNC sockets for
// the runtime, the same sockets for the stream routes.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/system/error_code.hpp>
#include <chrono>
#include <string>

namespace qmd::daemon {

namespace asio = boost::asio;

// Connects `socket` (opened here) to the Unix socket at `path` without blocking the loop:
// a listener whose backlog is full is retried until `deadline`, then asio::error::timed_out.
asio::awaitable<boost::system::error_code> connect_within(
    asio::local::stream_protocol::socket& socket, std::string path,
    std::chrono::milliseconds deadline);

}  // namespace qmd::daemon
