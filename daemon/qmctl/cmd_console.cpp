// qmctl console NAME: the VM's serial console over the API's upgraded connection. A terminal
// goes raw (and is restored on every way out); Ctrl-] detaches. Over a pipe, stdin's EOF
// ends the session after the console's answer has drained.
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <iostream>
#include <optional>
#include <string_view>
#include <variant>

#include "base/unique_fd.hpp"
#include "daemon/qmctl/api_client.hpp"
#include "daemon/qmctl/commands.hpp"

namespace qmd::qmctl {

namespace {

constexpr char kDetach = 0x1d;  // Ctrl-]
// After stdin's EOF, output still arriving within this long is printed.
constexpr int kDrainQuietMs = 300;

volatile std::sig_atomic_t g_signalled = 0;

void on_signal(int) { g_signalled = 1; }

// The terminal in raw mode for as long as this lives.
class RawTerminal {
 public:
  explicit RawTerminal(int fd) : fd_(fd) {
    if (tcgetattr(fd_, &saved_) != 0) {
      return;
    }
    termios raw = saved_;
    cfmakeraw(&raw);
    active_ = tcsetattr(fd_, TCSANOW, &raw) == 0;
  }
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;
  ~RawTerminal() {
    if (active_) {
      tcsetattr(fd_, TCSANOW, &saved_);
    }
  }

 private:
  int fd_;
  termios saved_{};
  bool active_ = false;
};

// SIGTERM/SIGHUP/SIGINT end the loop (so the destructors run) instead of the process.
class SignalsEndLoop {
 public:
  SignalsEndLoop() {
    struct sigaction action {};
    action.sa_handler = on_signal;
    sigemptyset(&action.sa_mask);
    for (std::size_t i = 0; i < kSignals.size(); ++i) {
      sigaction(kSignals[i], &action, &saved_[i]);
    }
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &ignore, &saved_pipe_);
  }
  SignalsEndLoop(const SignalsEndLoop&) = delete;
  SignalsEndLoop& operator=(const SignalsEndLoop&) = delete;
  ~SignalsEndLoop() {
    for (std::size_t i = 0; i < kSignals.size(); ++i) {
      sigaction(kSignals[i], &saved_[i], nullptr);
    }
    sigaction(SIGPIPE, &saved_pipe_, nullptr);
  }

 private:
  static constexpr std::array<int, 3> kSignals{SIGTERM, SIGHUP, SIGINT};
  std::array<struct sigaction, 3> saved_{};
  struct sigaction saved_pipe_ {};
};

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const auto n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

enum class End { detached, stdin_closed, console_closed, signalled, failed };

End copy_both_ways(int console, bool tty) {
  char buf[4096];
  bool stdin_open = true;
  while (g_signalled == 0) {
    pollfd fds[2] = {{console, POLLIN, 0}, {STDIN_FILENO, POLLIN, 0}};
    const int ready = poll(fds, stdin_open ? 2 : 1, stdin_open ? -1 : kDrainQuietMs);
    if (ready < 0) {
      if (errno == EINTR) {
        continue;
      }
      return End::failed;
    }
    if (ready == 0) {
      return End::stdin_closed;  // drained
    }
    if (fds[0].revents != 0) {
      const auto n = ::read(console, buf, sizeof buf);
      if (n <= 0) {
        return End::console_closed;
      }
      if (!write_all(STDOUT_FILENO, {buf, static_cast<std::size_t>(n)})) {
        return End::failed;
      }
    }
    if (stdin_open && fds[1].revents != 0) {
      const auto n = ::read(STDIN_FILENO, buf, sizeof buf);
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n <= 0) {
        stdin_open = false;
        ::shutdown(console, SHUT_WR);
        continue;
      }
      std::string_view input(buf, static_cast<std::size_t>(n));
      const auto detach = tty ? input.find(kDetach) : std::string_view::npos;
      if (!write_all(console, input.substr(0, detach))) {
        return End::console_closed;
      }
      if (detach != std::string_view::npos) {
        return End::detached;
      }
    }
  }
  return End::signalled;
}

}  // namespace

int console_attach(const ApiClient& client, const std::string& name) {
  auto upgraded = client.upgrade("/v1/vms/" + url_escape(name) + "/console", "qmd-console");
  if (!upgraded) {
    const auto& failure = upgraded.error();
    std::cerr << "qmctl: "
              << (std::holds_alternative<std::string>(failure)
                      ? std::get<std::string>(failure)
                      : error_message(std::get<ApiResponse>(failure)))
              << "\n";
    return 1;
  }
  qmd::UniqueFd console(upgraded->fd);
  const bool tty = isatty(STDIN_FILENO) != 0;
  if (tty) {
    std::cerr << "Connected to " << name << "'s console. Ctrl-] detaches.\r\n";
  }
  End end;
  {
    SignalsEndLoop signals;
    std::optional<RawTerminal> raw;
    if (tty) {
      raw.emplace(STDIN_FILENO);
    }
    if (!write_all(STDOUT_FILENO, upgraded->early_bytes)) {
      return 1;
    }
    end = copy_both_ways(console.get(), tty);
  }  // the terminal is itself again before anything more is printed
  g_signalled = 0;
  switch (end) {
    case End::detached:
      std::cerr << "\ndetached from " << name << "\n";
      return 0;
    case End::stdin_closed:
      return 0;
    case End::console_closed:
      if (tty) {
        std::cerr << "\nthe console of " << name << " closed\n";
      }
      return 0;
    case End::signalled:
      return 1;
    case End::failed:
      std::cerr << "qmctl: console: " << std::strerror(errno) << "\n";
      return 1;
  }
  return 1;
}

}  // namespace qmd::qmctl
