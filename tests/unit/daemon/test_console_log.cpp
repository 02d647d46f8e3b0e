// The console log: the ring's bounds, and qmd as the client of a real listening Unix socket
// (this process plays QEMU, so the peer check sees its own pid).
#include <doctest/doctest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <cstring>
#include <filesystem>

#include "daemon/runtime/console_log.hpp"

using qmd::daemon::ByteRing;
using qmd::daemon::ConsoleLog;

TEST_CASE("an empty ring reads nothing") {
  ByteRing ring(8);
  auto slice = ring.read(0, 100);
  CHECK(slice.bytes.empty());
  CHECK(slice.next == 0);
  CHECK(slice.lost == 0);
}

TEST_CASE("the ring keeps the last bytes and says what a late reader lost") {
  ByteRing ring(8);
  ring.append("abcdef");
  CHECK(ring.read(0, 100).bytes == "abcdef");
  ring.append("ghijk");  // 11 bytes written, 8 kept
  CHECK(ring.held() == 8);
  CHECK(ring.begin() == 3);
  auto slice = ring.read(1, 100);
  CHECK(slice.bytes == "defghijk");
  CHECK(slice.lost == 2);
  CHECK(slice.next == 11);
  auto part = ring.read(5, 3);
  CHECK(part.bytes == "fgh");
  CHECK(part.next == 8);
  CHECK(part.lost == 0);
  CHECK(ring.read(11, 10).bytes.empty());
}

TEST_CASE("a write larger than the ring keeps its tail") {
  ByteRing ring(4);
  ring.append("0123456789");
  CHECK(ring.end() == 10);
  CHECK(ring.read(0, 100).bytes == "6789");
  CHECK(ring.read(0, 100).lost == 6);
}

TEST_CASE("the ring takes memory as bytes come, up to its capacity") {
  ByteRing ring(1u << 20);
  ring.append("qmd: console of VM a\r\n");
  CHECK(ring.allocated() < 4096);
  std::string line(1000, 'x');
  for (int i = 0; i < 3000; ++i) {  // 3 MB through a 1 MiB ring: it wraps, no more memory
    line[0] = static_cast<char>('a' + i % 26);
    ring.append(line);
  }
  CHECK(ring.allocated() == (1u << 20));
  CHECK(ring.held() == (1u << 20));
  const auto tail = ring.read(ring.end() - 1000, 2000);
  CHECK(tail.bytes.size() == 1000);
  CHECK(tail.bytes[0] == static_cast<char>('a' + 2999 % 26));
}

TEST_CASE("bytes that fill the ring across the first wrap stay in order") {
  ByteRing ring(8);
  ring.append("abc");
  ring.append("defghijkl");  // crosses the capacity inside one append
  CHECK(ring.read(0, 100).bytes == "efghijkl");
  ring.append("0123456789ABCDEF");  // larger than the ring once it is full
  CHECK(ring.read(0, 100).bytes == "89ABCDEF");
  CHECK(ring.end() == 28);
}

namespace {

// A listening Unix socket at `path` (the stand-in for QEMU's console chardev).
int listen_at(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, path.data(), path.size());
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  REQUIRE(::listen(fd, 4) == 0);
  return fd;
}

std::string temp_socket() {
  return (std::filesystem::temp_directory_path() /
          ("qmd-console-test-" + std::to_string(::getpid()) + ".sock"))
      .string();
}

}  // namespace

TEST_CASE("the log keeps what the console printed with nobody attached") {
  const std::string path = temp_socket();
  std::filesystem::remove(path);
  const int listener = listen_at(path);
  boost::asio::io_context io;
  auto log = std::make_shared<ConsoleLog>(io.get_executor());
  auto connected = boost::asio::co_spawn(io, log->connect(path, ::getpid(), "[banner]\n"),
                                         boost::asio::use_future);
  io.run_for(std::chrono::seconds(2));
  io.restart();
  REQUIRE(connected.get() == std::nullopt);
  const int qemu = ::accept(listener, nullptr, nullptr);
  REQUIRE(qemu >= 0);
  const std::string boot = "Linux version 6.1\r\n";
  REQUIRE(::write(qemu, boot.data(), boot.size()) == static_cast<ssize_t>(boot.size()));
  ::close(qemu);  // QEMU ends: the log notices
  for (int i = 0; i < 100 && log->connection(); ++i) {
    io.run_for(std::chrono::milliseconds(20));
    io.restart();
  }
  CHECK(log->connection() == nullptr);
  CHECK(log->ring().read(0, 1000).bytes == "[banner]\n" + boot);
  ::close(listener);
  std::filesystem::remove(path);
}

TEST_CASE("a console served by another process than the VM's QEMU is not kept") {
  const std::string path = temp_socket();
  std::filesystem::remove(path);
  const int listener = listen_at(path);
  boost::asio::io_context io;
  auto log = std::make_shared<ConsoleLog>(io.get_executor());
  auto connected =
      boost::asio::co_spawn(io, log->connect(path, ::getpid() + 1, "x"), boost::asio::use_future);
  io.run_for(std::chrono::seconds(2));
  const auto refused = connected.get();
  REQUIRE(refused.has_value());
  CHECK(refused->find("not by the VM's QEMU") != std::string::npos);
  CHECK(log->connection() == nullptr);
  CHECK(log->ring().end() == 0);
  ::close(listener);
  std::filesystem::remove(path);
}
