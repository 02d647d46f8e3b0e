#include "daemon/trial/qmp_check.hpp"

#include "daemon/launch/unique_fd.hpp"

#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstring>
#include <thread>

namespace qmd::trial {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

int left_ms(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

// One QMP connection: newline-delimited JSON both ways.
class Session {
 public:
  Session(int fd, Clock::time_point deadline) : fd_(fd), deadline_(deadline) {}

  std::expected<boost::json::object, std::string> read_message() {
    for (;;) {
      const auto newline = buffer_.find('\n');
      if (newline != std::string::npos) {
        const std::string line = buffer_.substr(0, newline);
        buffer_.erase(0, newline + 1);
        if (line.find_first_not_of(" \r\t") == std::string::npos) {
          continue;
        }
        boost::system::error_code ec;
        auto value = boost::json::parse(line, ec);
        if (ec || !value.is_object()) {
          return std::unexpected(fmt::format("not a QMP message: {}", line));
        }
        return value.as_object();
      }
      pollfd pfd{fd_, POLLIN, 0};
      const int ready = ::poll(&pfd, 1, left_ms(deadline_));
      if (ready < 0 && errno == EINTR) {
        continue;
      }
      if (ready <= 0) {
        return std::unexpected("timed out waiting for QEMU");
      }
      char chunk[4096];
      const ssize_t got = ::read(fd_, chunk, sizeof chunk);
      if (got < 0 && errno == EINTR) {
        continue;
      }
      if (got <= 0) {
        return std::unexpected("QEMU closed the connection");
      }
      buffer_.append(chunk, static_cast<std::size_t>(got));
    }
  }

  // Sends a command and returns its "return" value; events in between are skipped.
  std::expected<boost::json::value, std::string> execute(const std::string& command) {
    const std::string line = fmt::format("{{\"execute\":\"{}\"}}\n", command);
    std::size_t sent = 0;
    while (sent < line.size()) {
      const ssize_t n = ::send(fd_, line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n <= 0) {
        return std::unexpected(fmt::format("cannot send: {}", std::strerror(errno)));
      }
      sent += static_cast<std::size_t>(n);
    }
    for (;;) {
      auto message = read_message();
      if (!message) {
        return std::unexpected(message.error());
      }
      if (const auto* ret = message->if_contains("return")) {
        return *ret;
      }
      if (const auto* error = message->if_contains("error")) {
        return std::unexpected(
            fmt::format("QEMU answered an error: {}", boost::json::serialize(*error)));
      }
      // An event ({"event": ...}): keep reading.
    }
  }

 private:
  int fd_;
  Clock::time_point deadline_;
  std::string buffer_;
};

std::expected<int, std::string> connect_unix(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    return std::unexpected(fmt::format("socket path is longer than {} characters: {}",
                                       sizeof addr.sun_path - 1, path));
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return std::unexpected(fmt::format("socket: {}", std::strerror(errno)));
  }
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    const int err = errno;
    ::close(fd);
    return std::unexpected(std::strerror(err));
  }
  return fd;
}

std::string version_of(const boost::json::object& greeting) {
  try {
    const auto& qemu = greeting.at("QMP").at("version").at("qemu").as_object();
    return fmt::format("{}.{}.{}", qemu.at("major").to_number<int>(),
                       qemu.at("minor").to_number<int>(), qemu.at("micro").to_number<int>());
  } catch (const std::exception&) {
    return "unknown";
  }
}

}  // namespace

std::expected<QmpStatus, std::string> qmp_check(const std::string& path, bool quit,
                                                milliseconds timeout,
                                                const std::function<bool()>& still_alive) {
  const auto deadline = Clock::now() + timeout;
  std::expected<int, std::string> fd = std::unexpected("not tried");
  for (;;) {
    fd = connect_unix(path);
    if (fd) {
      break;
    }
    if (still_alive && !still_alive()) {
      return std::unexpected(fmt::format("connect to QMP socket {}: QEMU is gone", path));
    }
    if (left_ms(deadline) == 0) {
      return std::unexpected(fmt::format("connect to QMP socket {}: {} (timed out after {} ms)",
                                         path, fd.error(), timeout.count()));
    }
    std::this_thread::sleep_for(milliseconds{20});
  }
  daemon::UniqueFd owned(*fd);
  Session session(owned.get(), deadline);

  auto greeting = session.read_message();
  if (!greeting) {
    return std::unexpected(fmt::format("QMP greeting: {}", greeting.error()));
  }
  if (!greeting->contains("QMP")) {
    return std::unexpected(
        fmt::format("QMP greeting: unexpected {}", boost::json::serialize(*greeting)));
  }
  QmpStatus result;
  result.qemu_version = version_of(*greeting);

  if (auto caps = session.execute("qmp_capabilities"); !caps) {
    return std::unexpected(fmt::format("qmp_capabilities: {}", caps.error()));
  }
  auto status = session.execute("query-status");
  if (!status) {
    return std::unexpected(fmt::format("query-status: {}", status.error()));
  }
  const auto* object = status->if_object();
  const auto* field = object ? object->if_contains("status") : nullptr;
  if (!field || !field->is_string()) {
    return std::unexpected(
        fmt::format("query-status: no status in {}", boost::json::serialize(*status)));
  }
  result.status = std::string(field->as_string());

  if (quit) {
    if (auto bye = session.execute("quit"); !bye) {
      return std::unexpected(fmt::format("quit: {}", bye.error()));
    }
  }
  return result;
}

}  // namespace qmd::trial
