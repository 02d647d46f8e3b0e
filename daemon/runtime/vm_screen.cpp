// The VM's screen: where its VNC server listens (for the API's relay), a PNG of the display
// (QMP screendump into a memfd qmd hands QEMU, so QEMU writes no file anywhere), and keys
// pressed on its keyboard (QMP send-key). None takes the lifecycle lock: a screen is looked
// at while a long stop or a hotplug waits, and none of them changes the VM.
#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json/array.hpp>
#include <cerrno>
#include <cstring>

#include "daemon/async/blocking.hpp"
#include "daemon/runtime/vm.hpp"
#include "qmp/commands.hpp"

namespace qmd::daemon {

namespace {

// A 4K display as PNG is a few MiB; anything above this is not a screenshot.
constexpr std::uint64_t kMaxScreenshot = 64ull << 20;
constexpr std::chrono::seconds kScreendumpTimeout{30};

std::string errno_text() { return std::strerror(errno); }

// The whole content of the memfd QEMU wrote, or why not (too big, unreadable).
std::expected<std::string, std::string> read_memfd(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    return std::unexpected("fstat: " + errno_text());
  }
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (size == 0) {
    return std::unexpected(std::string("QEMU wrote no image"));
  }
  if (size > kMaxScreenshot) {
    return std::unexpected(fmt::format("QEMU wrote {} bytes, over the {} MiB a screenshot may "
                                       "have",
                                       size, kMaxScreenshot >> 20));
  }
  std::string data(size, '\0');
  std::size_t done = 0;
  while (done < size) {
    const auto n = ::pread(fd, data.data() + done, size - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return std::unexpected("read: " + (n < 0 ? errno_text() : std::string("short file")));
    }
    done += static_cast<std::size_t>(n);
  }
  return data;
}

// A memfd, and a write-only descriptor of it for QEMU: screendump opens /dev/fdset/N with
// O_WRONLY, and an fd set hands out only a descriptor of the same access mode.
struct ScreendumpFile {
  UniqueFd memfd;
  UniqueFd for_qemu;
};

std::expected<ScreendumpFile, std::string> screendump_file() {
  UniqueFd memfd(::memfd_create("qmd-screendump", MFD_CLOEXEC));
  if (!memfd) {
    return std::unexpected("memfd_create: " + errno_text());
  }
  const std::string self = fmt::format("/proc/self/fd/{}", memfd.get());
  UniqueFd writer(::open(self.c_str(), O_WRONLY | O_CLOEXEC));
  if (!writer) {
    return std::unexpected("reopen of the memfd: " + errno_text());
  }
  return ScreendumpFile{std::move(memfd), std::move(writer)};
}

OpError failed(std::string message) { return op_error(OpError::Code::failed, std::move(message)); }

}  // namespace

std::expected<Vm::ScreenSocket, OpError> Vm::screen_socket(std::string_view what) const {
  if (auto allowed = check(VmAction::hotplug, what); !allowed) {
    return std::unexpected(allowed.error());
  }
  auto parsed = spec();
  if (!parsed) {
    return std::unexpected(parsed.error());
  }
  if (!parsed->domain.devices.autoattach_graphics_device.value_or(true)) {
    return std::unexpected(op_error(
        OpError::Code::conflict,
        fmt::format("VM {} has no screen: its spec sets autoattachGraphicsDevice: false (set "
                    "it to true and restart the VM)",
                    name_)));
  }
  if (!run_ || !run_->qemu || !run_->qmp) {
    return std::unexpected(op_error(OpError::Code::conflict,
                                    fmt::format("VM {} has no QEMU to show a screen", name_)));
  }
  return ScreenSocket{paths().vnc_socket(), run_->qemu->pid()};
}

asio::awaitable<std::expected<std::string, OpError>> Vm::screenshot() {
  auto where = screen_socket("screenshot");
  if (!where) {
    co_return std::unexpected(where.error());
  }
  std::shared_ptr<Run> run = run_;
  auto file = screendump_file();
  if (!file) {
    co_return std::unexpected(failed(fmt::format("screenshot of VM {}: {}", name_, file.error())));
  }
  auto fdset = co_await qmp::add_fd(*run->qmp, std::move(file->for_qemu), "screendump");
  if (!fdset) {
    co_return std::unexpected(failed(fmt::format("screenshot of VM {}: add-fd: {}", name_,
                                                 fdset.error().to_string())));
  }
  boost::json::object arguments{{"filename", fmt::format("/dev/fdset/{}", fdset->fdset_id)},
                                {"format", "png"}};
  const std::chrono::milliseconds limit = kScreendumpTimeout;
  auto dumped = co_await run->qmp->execute("screendump", std::move(arguments), limit);
  auto released = co_await qmp::remove_fd(*run->qmp, fdset->fdset_id);
  if (!released) {
    spdlog::warn("VM {}: remove-fd of the screendump's fd set {}: {}", name_, fdset->fdset_id,
                 released.error().to_string());
  }
  if (!dumped) {
    co_return std::unexpected(failed(
        fmt::format("screenshot of VM {}: QEMU: {}", name_, dumped.error().to_string())));
  }
  auto read = [fd = std::move(file->memfd)] { return read_memfd(fd.get()); };
  auto png = co_await run_blocking(ctx_.blocking, std::move(read));
  if (!png) {
    co_return std::unexpected(failed(fmt::format("screenshot of VM {}: {}", name_, png.error())));
  }
  co_return std::move(*png);
}

asio::awaitable<OpResult> Vm::send_keys(std::vector<qmp::KeyCombo> combos,
                                        std::chrono::milliseconds hold) {
  auto where = screen_socket("send-keys");
  if (!where) {
    co_return std::unexpected(where.error());
  }
  std::shared_ptr<Run> run = run_;
  std::vector<std::string> pressed;
  for (const auto& combo : combos) {
    boost::json::array keys;
    for (const auto& key : combo.keys) {
      keys.push_back(boost::json::object{{"type", "qcode"}, {"data", key}});
    }
    boost::json::object arguments{{"keys", std::move(keys)}, {"hold-time", hold.count()}};
    auto sent = co_await run->qmp->execute("send-key", std::move(arguments));
    if (!sent) {
      co_return std::unexpected(failed(fmt::format("send-keys to VM {}: QEMU: {}", name_,
                                                   sent.error().to_string())));
    }
    pressed.push_back(fmt::format("{}", fmt::join(combo.keys, "-")));
  }
  publish("KeysSent", fmt::format("keys sent: {}", fmt::join(pressed, " ")));
  co_return OpResult{};
}

}  // namespace qmd::daemon
