#pragma once
// The VM's serial console, kept while nobody is attached. qmd itself is QEMU's one console
// client for the whole run: what the guest prints goes into a bounded ring (the last
// kCapacity bytes, across runs, in qmd's memory only), and an attached `qmctl console`
// reads from that ring and writes to QEMU through qmd's connection. The reader never waits
// for a session: a session that falls behind by more than the ring skips what it lost.
// Everything here lives on the loop thread.
#include <sys/types.h>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace qmd::daemon {

namespace asio = boost::asio;

// The bytes themselves: a ring addressed by the count of bytes ever written (pure, tested).
class ByteRing {
 public:
  explicit ByteRing(std::size_t capacity) : capacity_(capacity) {}
  void append(std::string_view bytes);
  std::uint64_t end() const { return end_; }
  std::uint64_t begin() const { return end_ - held(); }
  std::size_t held() const { return static_cast<std::size_t>(std::min<std::uint64_t>(end_, capacity_)); }
  // Up to `max` bytes from `from` on; bytes before begin() are gone (`lost` counts them).
  struct Slice {
    std::string bytes;
    std::uint64_t next = 0;  // where the next read starts
    std::uint64_t lost = 0;
  };
  Slice read(std::uint64_t from, std::size_t max) const;
  std::size_t allocated() const { return data_.capacity(); }  // bytes of memory it holds

 private:
  std::size_t capacity_;
  std::vector<char> data_;  // grows with the bytes up to capacity_
  std::uint64_t end_ = 0;
};

class ConsoleLog : public std::enable_shared_from_this<ConsoleLog> {
 public:
  static constexpr std::size_t kCapacity = 1u << 20;
  using Socket = asio::local::stream_protocol::socket;

  explicit ConsoleLog(asio::any_io_executor executor);

  // Connects to QEMU's console socket at `path` (the process there must be `qemu_pid`: the
  // run dir belongs to the QEMU user) and keeps reading it until QEMU closes it or
  // disconnect(). `banner` goes into the log first. An error says why there is no log.
  asio::awaitable<std::optional<std::string>> connect(std::string path, pid_t qemu_pid,
                                                      std::string banner);
  void disconnect();  // the run is over (QEMU's end closes it too)

  // QEMU's console for a session to write to; nullptr while not connected.
  std::shared_ptr<Socket> connection() const { return qemu_; }
  const ByteRing& ring() const { return ring_; }
  // Completes once the ring has grown past `offset` or `connection` is no longer the one.
  asio::awaitable<void> wait_beyond(std::uint64_t offset, std::shared_ptr<Socket> connection);

 private:
  asio::awaitable<void> read_loop(std::shared_ptr<Socket> socket);
  void wake();

  asio::any_io_executor executor_;
  ByteRing ring_{kCapacity};
  std::shared_ptr<Socket> qemu_;
  std::shared_ptr<asio::steady_timer> wake_;
};

}  // namespace qmd::daemon
