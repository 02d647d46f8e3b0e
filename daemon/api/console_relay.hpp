#pragma once
// An attached console session: the guest's output from qmd's console log (from the moment
// of attaching), the user's keys to QEMU through qmd's connection.
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <memory>

#include "daemon/api/stream_io.hpp"
#include "daemon/runtime/console_log.hpp"

namespace qmd::daemon::api {

// Until the client goes, the VM's run ends (its console closes) or a write to either side
// misses `deadline`. A client that reads so slowly that the log's ring overtakes it is told
// how many bytes it missed, in a line of its own.
asio::awaitable<void> console_relay(StreamSocket& client, std::shared_ptr<ConsoleLog> log,
                                    std::chrono::milliseconds deadline);

}  // namespace qmd::daemon::api
