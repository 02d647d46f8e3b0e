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
  // A vnet header, which QEMU finds on the descriptor and uses (as when it opens a tap
  // itself), and multiqueue for queues > 1: every queue must be opened with the flag the
  // tap was made with.
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

std::string sys_text(const std::string& name, const char* what) {
  std::ifstream in(fmt::format("/sys/class/net/{}/{}", name, what));
  std::string text;
  in >> text;
  return text;
}

// IFF_PERSIST: only an older qmd made its taps persistent (or a user, by hand).
bool persistent(const std::string& name) {
  const std::string flags = sys_text(name, "tun_flags");
  constexpr unsigned long kPersist = 0x0800;  // IFF_PERSIST
  return !flags.empty() && (std::stoul(flags, nullptr, 16) & kPersist) != 0;
}

// A persistent tap no process holds (an older qmd's, left behind): tun turns the carrier on
// while a queue is attached, and off when the last one goes. qmd's own taps are never
// persistent, so never taken for one of these: they exist only while held.
bool left_over(const std::string& name) {
  return persistent(name) && sys_text(name, "carrier") == "0";
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

// The tap's other queues (IFF_MULTI_QUEUE: each open attaches one) and a /dev/vhost-net
// per queue, after the first queue `first`.
std::expected<TapQueues, std::string> open_queues(const TapSpec& spec, UniqueFd first) {
  TapQueues out;
  out.queues.push_back(std::move(first));
  const bool multiqueue = spec.queues > 1;
  while (out.queues.size() < spec.queues) {
    auto opened = open_tap(spec.name, multiqueue, false);
    if (!opened) {
      return std::unexpected(opened.error().why);
    }
    out.queues.emplace_back(*opened);
  }
  while (spec.vhost && out.vhost.size() < spec.queues) {
    UniqueFd vhost(::open("/dev/vhost-net", O_RDWR | O_CLOEXEC));
    if (!vhost) {
      return std::unexpected(err(spec.name, "open /dev/vhost-net") +
                             " (vhost needs the vhost_net module: modprobe vhost_net)");
    }
    out.vhost.push_back(std::move(vhost));
  }
  return out;
}

// Joins `spec.bridge` (if any) and sets the tap up.
std::expected<void, std::string> bridge_and_up(const TapSpec& spec) {
  UniqueFd control(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (control.get() < 0) {
    return std::unexpected(err(spec.name, "socket"));
  }
  if (!spec.bridge.empty()) {
    ifreq bridge = named(spec.bridge);
    bridge.ifr_ifindex = static_cast<int>(::if_nametoindex(spec.name.c_str()));
    if (bridge.ifr_ifindex == 0 || ::ioctl(control.get(), SIOCBRADDIF, &bridge) != 0) {
      const int error = errno;
      return std::unexpected(
          fmt::format("tap {}: join bridge {}: {}", spec.name, spec.bridge,
                      std::strerror(error)) +
          (error == ENODEV ? " (no such bridge on this host; check `bridges` in qmd.yaml)"
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
    return std::unexpected(err(spec.name, "set up"));
  }
  return {};
}

}  // namespace

std::expected<TapQueues, std::string> create_tap(const TapSpec& spec) {
  if (spec.name.empty() || spec.name.size() >= IFNAMSIZ) {
    return std::unexpected(fmt::format("tap \"{}\": a name of 1 to {} characters is needed",
                                       spec.name, IFNAMSIZ - 1));
  }
  auto opened = open_new_tap(spec.name, spec.queues > 1);
  if (!opened) {
    return std::unexpected(opened.error());
  }
  // Not persistent: on any error below, closing these descriptors removes the tap.
  auto queues = open_queues(spec, UniqueFd(*opened));
  if (!queues) {
    return std::unexpected(queues.error());
  }
  if (auto ready = bridge_and_up(spec); !ready) {
    return std::unexpected(ready.error());
  }
  return queues;
}

std::expected<void, std::string> delete_tap(const std::string& name) {
  if (::if_nametoindex(name.c_str()) == 0) {
    return {};
  }
  // Off its bridge first: a tap another process still holds open outlives this call, and
  // must not stay on the bridge without the guard that went with its VM.
  const auto left = leave_bridge(name);
  if (!persistent(name)) {
    return left;  // it goes with the last descriptor of it
  }
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
    return left;
  }
  return std::unexpected(fmt::format("tap {}: cannot reopen it to remove it", name));
}

}  // namespace qmd::daemon
