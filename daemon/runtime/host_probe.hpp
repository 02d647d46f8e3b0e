#pragma once
// The host's caps for a starting qmd: from the probe cache when it was taken under the same
// QEMU binary, kernel and /dev/kvm (the API is up in milliseconds), else probed now and
// cached. After a start from the cache the host is probed again in the background, off the
// loop thread, and the caps in use are replaced when the answer differs.
#include "daemon/config.hpp"
#include "daemon/host/probe_cache.hpp"
#include "daemon/runtime/context.hpp"

namespace qmd::daemon {

struct StartCaps {
  policy::HostCaps caps;
  ProbeStatus status;
};

// Before the loop runs: reads (or probes and writes) <state dir>/host-probe.json. Logs
// where the caps came from, and why the cache was not used.
StartCaps host_caps_at_start(const Config& config);

// When ctx.probe.refresh is "pending": probes on ctx.blocking, rewrites the cache, and on the
// loop replaces ctx.host when the caps differ (logged with the fields that changed).
void refresh_host_caps(DaemonContext& ctx);

// The top-level fields of the caps JSON that differ between `before` and `after`.
std::vector<std::string> changed_caps_fields(const policy::HostCaps& before,
                                             const policy::HostCaps& after);

}  // namespace qmd::daemon
