#pragma once
// Taps reach QEMU as descriptors, not names: qmd makes each tap of the render's plan, opens
// its queues (and /dev/vhost-net per queue) and QEMU inherits them, so no tap of qmd's is
// ever without a holder between its creation and QEMU's start (one held by no one looks
// like a leftover another start may take), and QEMU needs no right on /dev/net/tun or
// /dev/vhost-net. The renderer stays pure and names the tap (what `qmctl argv` shows, with
// queues=N); the daemon rewrites the -netdev it launches (devices::with_tap_fds).
#include <expected>
#include <string>
#include <vector>

#include "cmdline/render.hpp"
#include "daemon/host/tap.hpp"
#include "devices/nic.hpp"

namespace qmd::daemon {

// The descriptor numbers of `opened`, as the -netdev names them.
devices::TapFds fd_numbers(const TapQueues& opened);

// `args` (QEMU's argv without the binary) with the -netdev of each taps[i] on fds[i]. A tap
// whose -netdev is not in `args` is an error. Pure.
std::expected<std::vector<std::string>, std::string> with_tap_fds(
    const std::vector<std::string>& args, const std::vector<cmdline::TapPlan>& taps,
    const std::vector<devices::TapFds>& fds);

}  // namespace qmd::daemon
