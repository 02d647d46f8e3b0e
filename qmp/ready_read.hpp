#pragma once
// Reading a Unix socket without a buffer of its own. A coroutine parked in async_read_some
// keeps its buffer in its frame for as long as it waits, and qmd keeps a QMP, a console and
// an agent connection waiting for every running VM. Waiting for readiness instead, then
// reading what is there into one buffer of the thread, keeps waiting connections free of
// buffers. The bytes are valid until the next ready_read on this thread: copy or parse them
// before the next co_await.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/system/error_code.hpp>
#include <string_view>
#include <utility>

namespace qmd::qmp {

// Waits until `socket` is readable and reads what it holds (at most 64 KiB). An error is
// what async_read_some would have given (eof, connection_reset, operation_aborted, ...).
boost::asio::awaitable<std::pair<boost::system::error_code, std::string_view>> ready_read(
    boost::asio::local::stream_protocol::socket& socket);

}  // namespace qmd::qmp
