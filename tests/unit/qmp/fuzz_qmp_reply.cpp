// libFuzzer target: whatever QEMU may write on its QMP socket, through what qmd does with it:
// a real QmpClient (JsonStreamDecoder, the session's greeting, reply and event dispatch, and
// a typed command's reply reader) on one end of a socketpair; this target plays QEMU on the
// other. The first byte picks the command (low bits) and where the input goes (high bit set:
// it is QEMU's first words, in place of the greeting; clear: it follows the greeting and the
// capabilities reply, as the answer to the command, id 2, and any events). Small caps so the
// over-size path runs too. Checks: no crash, no sanitizer report, and the command always
// ends (QEMU closes, so a client that waits forever is a bug).
//
//   scripts/fuzz.sh 60 fuzz_qmp_reply
#include <spdlog/spdlog.h>

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

#include "qmp/client.hpp"
#include "qmp/commands.hpp"

namespace {

namespace asio = boost::asio;
using namespace qmd::qmp;
using namespace std::chrono_literals;
using Socket = asio::local::stream_protocol::socket;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

constexpr const char* kGreeting =
    R"({"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}, "package": ""}, )"
    R"("capabilities": ["oob"]}})"
    "\r\n";

asio::awaitable<void> run_command(QmpClient& client, int which) {
  switch (which) {
    case 0: (void)co_await query_status(client); break;
    case 1: (void)co_await query_cpus_fast(client); break;
    case 2: (void)co_await query_hotpluggable_cpus(client); break;
    case 3: (void)co_await query_block(client); break;
    case 4: (void)co_await query_blockstats(client); break;
    case 5: (void)co_await query_balloon(client); break;
    case 6: (void)co_await query_migrate(client); break;
    default: (void)co_await query_migrate_capabilities(client); break;
  }
}

// qmd's side: the handshake, then the command; `finished` once it returned.
asio::awaitable<void> play_qmd(Socket socket, int which, bool& finished) {
  QmpOptions options;
  options.command_timeout = 2000ms;
  options.max_message = 2048;
  auto adopting = QmpClient::adopt(std::move(socket), 2000ms, options);
  auto client = co_await std::move(adopting);
  if (client) {
    // A subscriber sees whatever QEMU calls an event (an "event" that is not a string comes
    // with an empty name); the runtime's subscribers ignore names they do not know.
    client->on_event([](const QmpEvent& event) { (void)event.data.size(); });
    co_await run_command(*client, which);
  }
  finished = true;
}

// Reads one request line; false when qmd closed instead.
asio::awaitable<bool> read_line(Socket& qemu, asio::streambuf& buffer) {
  auto [ec, n] = co_await asio::async_read_until(qemu, buffer, '\n', kTuple);
  if (ec) {
    co_return false;
  }
  buffer.consume(n);
  co_return true;
}

// QEMU's side: greeting, capabilities reply (id 1), then `input` after the command (id 2);
// or `input` alone in place of the greeting. Then it closes its end.
asio::awaitable<void> play_qemu(Socket& qemu, std::string input, bool instead_of_greeting) {
  asio::streambuf buffer;
  std::string out = input;
  if (!instead_of_greeting) {
    const std::string greeting = kGreeting;
    const std::string ok = "{\"return\": {}, \"id\": 1}\r\n";
    auto [gec, gn] = co_await asio::async_write(qemu, asio::buffer(greeting), kTuple);
    bool talking = !gec;
    if (talking) {
      const bool capabilities = co_await read_line(qemu, buffer);
      talking = capabilities;
    }
    if (talking) {
      auto [oec, on] = co_await asio::async_write(qemu, asio::buffer(ok), kTuple);
      talking = !oec;
    }
    if (talking) {
      const bool command = co_await read_line(qemu, buffer);
      talking = command;
    }
    if (!talking) {
      out.clear();
    }
  }
  auto [ec, n] = co_await asio::async_write(qemu, asio::buffer(out), kTuple);
  (void)ec;
  (void)n;
  boost::system::error_code ignored;
  qemu.shutdown(asio::socket_base::shutdown_send, ignored);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spdlog::set_level(spdlog::level::off);  // QEMU's nonsense is logged; not here
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) {
    return 0;
  }
  const int which = data[0] & 0x07;
  const bool instead_of_greeting = (data[0] & 0x80) != 0;
  const std::string input(reinterpret_cast<const char*>(data + 1), size - 1);

  asio::io_context ioc;
  Socket qemu(ioc);
  Socket client_end(ioc);
  asio::local::connect_pair(qemu, client_end);
  bool finished = false;
  asio::co_spawn(ioc, play_qmd(std::move(client_end), which, finished),
                 [](std::exception_ptr error) {
                   if (error) {
                     std::rethrow_exception(error);
                   }
                 });
  asio::co_spawn(ioc, play_qemu(qemu, input, instead_of_greeting), asio::detached);
  ioc.run_for(5s);
  if (!finished) {
    std::fprintf(stderr, "the command did not end after QEMU closed its end\n");
    std::abort();
  }
  return 0;
}
