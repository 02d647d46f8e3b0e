#pragma once
// What the runtime tells about a VM, as plain structs: the API layer (daemon/api/vm_json.cpp)
// alone turns them into JSON.
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/runtime/probe_tally.hpp"

namespace qmd::daemon {

// One entry of the VM list. The strings are views into the Vm (the list of 1 000 VMs copies
// nothing): read it before the loop runs anything else, i.e. before the next co_await.
struct VmSummary {
  std::string_view name{};
  std::string_view state{};
  std::optional<pid_t> pid{};       // QEMU's, while it runs
  std::string_view run_strategy{};  // Always, RerunOnFailure, Manual, Halted
  bool ready = false;
  bool agent_connected = false;
  std::string_view agent_version{};  // empty while no agent answered
};

struct VmProbeStatus {
  std::optional<ProbeTally> readiness{};
  std::optional<ProbeTally> liveness{};
};

struct VmSavedState {  // what a host shutdown saved, for the next start
  std::string at{};
  std::string path{};
  bool paused = false;
};

// One VM in full (GET /v1/vms/NAME): the summary and what qmd keeps about it. The summary's
// views are as short-lived as a VmSummary's; the rest is owned.
struct VmDetails {
  VmSummary summary{};
  std::optional<std::string> agent_last_seen{};  // set while it runs
  std::string uuid{};
  std::string created_at{};
  std::string last_error{};
  std::vector<std::string> owned_claims{};
  std::string migrated_to{};  // empty unless it left for another host
  std::string migrated_at{};
  std::string split_memory{};  // why it may run on two hosts; empty when it does not
  std::optional<VmSavedState> saved_state{};
  std::string qemu_version{};  // empty while it does not run
  std::string started_at{};
  std::optional<uid_t> qemu_uid{};        // its own uid of qemuUids, once it has one
  std::optional<VmProbeStatus> probes{};  // while it runs with a probe
  struct GuestName {
    std::string hostname{};   // the spec's, else the VM's name
    std::string subdomain{};  // empty when the spec has none
  };
  std::optional<GuestName> guest_name{};  // unless the stored spec no longer parses
  std::string_view spec_text{};
};

// The answer of a vCPU change (PUT /v1/vms/NAME/cpus).
struct CpuChange {
  std::uint32_t count = 0;  // vCPUs plugged now
  std::uint32_t max = 0;    // slots -smp maxcpus has
  bool pinned = false;      // hot-added vCPUs are pinned (dedicatedCpuPlacement)
};

}  // namespace qmd::daemon
