// libFuzzer target: whatever an agent may write back to one of qmd's typed QGA commands.
// A real QgaClient on one end of a socketpair; this target plays the agent on the other: it
// reads the sync request, answers it with the right id, writes the input and closes. The
// first byte picks the command (low bits) and whether the input comes before the sync reply
// (high bit: the sentinel scanner gets it) or after it (the reply decoder and typed readers
// get it). Small caps so over-size paths run too. Checks: no crash, no sanitizer report, and
// the command always ends (the agent closes, so a client that waits forever is a bug).
//
//   scripts/fuzz.sh 60 fuzz_qga_reply
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/connect_pair.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <istream>
#include <string>

#include "qmp/qga_client.hpp"
#include "qmp/qga_commands.hpp"

namespace {

namespace asio = boost::asio;
using namespace qmd::qmp;
using namespace std::chrono_literals;

asio::awaitable<void> run_command(QgaClient& client, int which) {
  switch (which) {
    case 0: (void)co_await guest_info(client); break;
    case 1: (void)co_await guest_get_osinfo(client); break;
    case 2: (void)co_await guest_get_host_name(client); break;
    case 3: (void)co_await guest_get_timezone(client); break;
    case 4: (void)co_await guest_get_users(client); break;
    case 5: (void)co_await guest_get_fsinfo(client); break;
    case 6: (void)co_await guest_network_get_interfaces(client); break;
    case 7: (void)co_await guest_exec_status(client, 1); break;
    case 8: (void)co_await guest_fsfreeze_status(client); break;
    case 9: (void)co_await guest_fsfreeze_thaw(client); break;
    default: (void)co_await guest_ping(client, 200ms); break;
  }
}

// The agent: read one request line (the sync), answer it, write `input`, close.
asio::awaitable<void> play_agent(asio::local::stream_protocol::socket& agent, std::string input,
                                 bool before_sync) {
  asio::streambuf buffer;
  auto [ec, n] = co_await asio::async_read_until(agent, buffer, '\n',
                                                 asio::as_tuple(asio::use_awaitable));
  if (ec) {
    co_return;
  }
  std::istream in(&buffer);
  std::string line;
  std::getline(in, line);
  const auto at = line.find("\"id\":");
  const std::string id = at == std::string::npos ? "0" : line.substr(at + 5, line.find('}', at) - at - 5);
  const std::string sync = "\xff{\"return\": " + id + "}\n";
  const std::string out = before_sync ? input + sync : sync + input;
  auto [wec, written] =
      co_await asio::async_write(agent, asio::buffer(out), asio::as_tuple(asio::use_awaitable));
  (void)wec;
  (void)written;
  boost::system::error_code ignored;
  agent.shutdown(asio::socket_base::shutdown_send, ignored);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) {
    return 0;
  }
  const int which = data[0] & 0x0F;
  const bool before_sync = (data[0] & 0x80) != 0;
  const std::string input(reinterpret_cast<const char*>(data + 1), size - 1);

  asio::io_context ioc;
  asio::local::stream_protocol::socket agent(ioc);
  asio::local::stream_protocol::socket client_end(ioc);
  asio::local::connect_pair(agent, client_end);
  QgaOptions options;
  options.command_timeout = 2000ms;
  options.max_message = 1024;
  options.max_exec_status_message = 3072;
  QgaClient client = QgaClient::adopt(std::move(client_end), "fuzz-qga", options);
  bool finished = false;
  asio::co_spawn(ioc, run_command(client, which), [&](std::exception_ptr error) {
    if (error) {
      std::rethrow_exception(error);
    }
    finished = true;
  });
  asio::co_spawn(ioc, play_agent(agent, input, before_sync), asio::detached);
  ioc.run_for(5s);
  if (!finished) {
    std::fprintf(stderr, "the command did not end after the agent closed its end\n");
    std::abort();
  }
  return 0;
}
