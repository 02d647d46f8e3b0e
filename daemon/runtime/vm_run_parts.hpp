#pragma once
// The state one run of a VM (one QEMU, from its start or adoption until it is gone) keeps,
// grouped by the feature that owns it: each group is written by the file named above it,
// and only read elsewhere. Vm::Run (vm.hpp) holds one of each beside the lifecycle's own
// fields (the processes, the QMP and agent clients, how the run ends). accessCredentials'
// bookkeeping is a class of its own, AccessKeySync (access_keys.hpp, used by vm_access.cpp).
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "daemon/host/tap.hpp"
#include "daemon/launch/process_handle.hpp"
#include "base/unique_fd.hpp"
#include "daemon/runtime/access_keys.hpp"
#include "daemon/runtime/probe_tally.hpp"
#include "policy/spec.hpp"

namespace qmd::daemon {

// The host side of the run's interfaces. Taps are made in vm_start.cpp (prepare_host) and
// vm_hotplug_nic.cpp, removed in vm_stop.cpp (teardown); the NAT guards and held ports are
// vm_nat.cpp's; passt and the forwards vm_ports.cpp's.
struct RunNetwork {
  std::vector<std::string> taps;      // host taps qmd made for bridge bindings (and NAT ones)
  // The queues of the render's taps as prepare_host opened them, in its order: held by qmd
  // until QEMU inherits them at its spawn (start_qemu), so the taps are never unheld.
  std::vector<TapQueues> opened_taps;
  std::vector<std::string> nat_taps;  // taps whose guard is on the NAT network
  std::vector<ProcessHandle> passt;   // one passt per masquerade interface (unprivileged)
  std::vector<policy::PortForward> forwards;  // interfaces[].ports with their host ports
  std::vector<UniqueFd> held_ports;           // sockets holding the host ports of DNAT forwards
};

// Live migration of this run, both ends: an outgoing one is followed by SourceMigration
// (vm_migrate_follow.cpp), an incoming one by vm_incoming.cpp; vm_supervise.cpp wakes the
// source on MIGRATION events and marks QEMU gone.
struct RunMigration {
  bool incoming = false;  // QEMU waits for a migration stream (-incoming defer)
  // Outgoing: cancelled (woken) by MIGRATION events and by a cancel request.
  std::shared_ptr<asio::steady_timer> wake;
  bool event = false;  // one came since the last look (a cancel may find no wait)
  // supervise() saw QEMU exit (set before its teardown can suspend): a migration reply read
  // after this may predate the exit and must not be acted on.
  bool qemu_gone = false;
  // A postcopy destination whose pages still arrive: page faults slow the guest, so probes
  // wait; a liveness kill would lose memory the source no longer has.
  bool pages_arriving = false;
};

// What qmd knows of the guest agent in this run: watch_agent (vm_supervise.cpp) keeps the
// link fields; the auto-thaw timer is vm_guest.cpp's.
struct RunAgent {
  bool connected = false;
  std::string version;
  std::string last_seen;
  std::shared_ptr<asio::steady_timer> auto_thaw;  // armed while qmd holds the guest frozen
};

// Probes (vm_probes.cpp), from the definition at the start (or adoption) of this run.
struct RunProbes {
  std::optional<ProbeTally> readiness;
  std::optional<ProbeTally> liveness;
};

}  // namespace qmd::daemon
