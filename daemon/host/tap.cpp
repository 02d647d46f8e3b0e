#include "daemon/host/tap.hpp"

#include <fcntl.h>
#include <net/if.h>  // before linux/if_tun.h, which must not pull in linux/if.h
#include <fmt/format.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "daemon/host/bridge_port.hpp"
#include "base/unique_fd.hpp"

namespace qmd::daemon {
namespace {

std::string err(const std::string& tap, const std::string& step) {
  return fmt::format("tap {}: {}: {}", tap, step, std::strerror(errno));
}

ifreq named(const std::string& name) {
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  return ifr;
}

struct OpenError {
  std::string why;
  int error = 0;  // errno
};

// Opens the tap device itself with the flags QEMU will use. `exclusive` (IFF_TUN_EXCL):
// only a new tap, never one that exists already (EBUSY), whose other queues someone else
// may hold.
std::expected<int, OpenError> open_tap(const std::string& name, bool multiqueue,
                                       bool exclusive) {
  const int fd = ::open("/dev/net/tun", O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    return std::unexpected(OpenError{err(name, "open /dev/net/tun"), errno});
  }
  ifreq ifr = named(name);
  // QEMU asks for a vnet header whenever the kernel has one, and multiqueue for queues > 1;
  // a persistent tap accepts QEMU only when IFF_MULTI_QUEUE matches.
  ifr.ifr_flags = static_cast<short>(IFF_TAP | IFF_NO_PI | IFF_VNET_HDR |
                                     (multiqueue ? IFF_MULTI_QUEUE : 0) |
                                     (exclusive ? IFF_TUN_EXCL : 0));
  if (::ioctl(fd, TUNSETIFF, &ifr) != 0) {
    const int error = errno;
    std::string why = err(name, "TUNSETIFF");
    ::close(fd);
    return std::unexpected(OpenError{
        why + (error == EINVAL ? " (an interface of that name exists with other flags; remove "
                                 "it)"
                               : ""),
        error});
  }
  return fd;
}

// A persistent tap no process holds (an earlier run's, left behind): tun turns the carrier
// on while a queue is attached, and off when the last one goes.
bool left_over(const std::string& name) {
  const auto read = [&name](const char* what) {
    std::ifstream in(fmt::format("/sys/class/net/{}/{}", name, what));
    std::string text;
    in >> text;
    return text;
  };
  const std::string flags = read("tun_flags");
  constexpr unsigned long kPersist = 0x0800;  // IFF_PERSIST
  return !flags.empty() && (std::stoul(flags, nullptr, 16) & kPersist) != 0 &&
         read("carrier") == "0";
}

// A new tap of that name; one an earlier run left (held by no one) is removed first.
std::expected<int, std::string> open_new_tap(const std::string& name, bool multiqueue) {
  auto opened = open_tap(name, multiqueue, true);
  if (!opened && opened.error().error == EBUSY && left_over(name)) {
    (void)delete_tap(name);
    opened = open_tap(name, multiqueue, true);
  }
  if (!opened && opened.error().error == EBUSY) {
    return std::unexpected(fmt::format(
        "tap {}: an interface of that name exists and is in use (another VM's tap, or a "
        "process holds it); qmd makes each of its taps afresh: stop what uses it, or remove "
        "it (ip link del {})",
        name, name));
  }
  if (!opened) {
    return std::unexpected(opened.error().why);
  }
  return *opened;
}

}  // namespace

std::expected<void, std::string> create_tap(const TapSpec& spec) {
  if (spec.name.empty() || spec.name.size() >= IFNAMSIZ) {
    return std::unexpected(fmt::format("tap \"{}\": a name of 1 to {} characters is needed",
                                       spec.name, IFNAMSIZ - 1));
  }
  auto opened = open_new_tap(spec.name, spec.multiqueue);
  if (!opened) {
    return std::unexpected(opened.error());
  }
  UniqueFd tap(*opened);
  if (spec.owner && ::ioctl(tap.get(), TUNSETOWNER, static_cast<unsigned long>(*spec.owner)) != 0) {
    return std::unexpected(err(spec.name, "TUNSETOWNER"));
  }
  if (spec.group && ::ioctl(tap.get(), TUNSETGROUP, static_cast<unsigned long>(*spec.group)) != 0) {
    return std::unexpected(err(spec.name, "TUNSETGROUP"));
  }
  if (::ioctl(tap.get(), TUNSETPERSIST, 1UL) != 0) {
    return std::unexpected(err(spec.name, "TUNSETPERSIST"));
  }
  UniqueFd control(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (control.get() < 0) {
    return std::unexpected(err(spec.name, "socket"));
  }
  if (!spec.bridge.empty()) {
    ifreq bridge = named(spec.bridge);
    bridge.ifr_ifindex = static_cast<int>(::if_nametoindex(spec.name.c_str()));
    if (bridge.ifr_ifindex == 0 || ::ioctl(control.get(), SIOCBRADDIF, &bridge) != 0) {
      std::string why = fmt::format("tap {}: join bridge {}: {}", spec.name, spec.bridge,
                                    std::strerror(errno));
      ::ioctl(tap.get(), TUNSETPERSIST, 0UL);  // closing the last fd then removes it
      return std::unexpected(why + (errno == ENODEV ? " (no such bridge on this host; check "
                                                      "`bridges` in qmd.yaml)"
                                                    : ""));
    }
  }
  ifreq flags = named(spec.name);
  bool up = ::ioctl(control.get(), SIOCGIFFLAGS, &flags) == 0;
  if (up) {
    flags.ifr_flags = static_cast<short>(flags.ifr_flags | IFF_UP);
    up = ::ioctl(control.get(), SIOCSIFFLAGS, &flags) == 0;
  }
  if (!up) {
    std::string why = err(spec.name, "set up");
    ::ioctl(tap.get(), TUNSETPERSIST, 0UL);
    return std::unexpected(why);
  }
  return {};
}

std::expected<void, std::string> delete_tap(const std::string& name) {
  if (::if_nametoindex(name.c_str()) == 0) {
    return {};
  }
  // Off its bridge first: a tap another process still holds open outlives the deletion, and
  // must not stay on the bridge without the guard that went with its VM.
  const auto left = leave_bridge(name);
  // Reopening with the device's own multiqueue flag is required; try both.
  for (bool multiqueue : {false, true}) {
    auto opened = open_tap(name, multiqueue, false);
    if (!opened) {
      continue;
    }
    UniqueFd tap(*opened);
    if (::ioctl(tap.get(), TUNSETPERSIST, 0UL) != 0) {
      return std::unexpected(err(name, "TUNSETPERSIST 0"));
    }
    if (!left) {
      return std::unexpected(left.error());
    }
    return {};
  }
  return std::unexpected(fmt::format("tap {}: cannot reopen it to remove it", name));
}

}  // namespace qmd::daemon
