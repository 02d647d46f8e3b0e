#pragma once
// What every VM of one qmd shares: the loop, a small pool for blocking file work, the
// configuration, the host as probed (or read from the probe cache), presets, the store and the event bus.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/thread_pool.hpp>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include "daemon/config.hpp"
#include "daemon/host/port_forward.hpp"
#include "daemon/host/probe_cache.hpp"
#include "daemon/host/uid_pool.hpp"
#include "daemon/launch/launcher.hpp"
#include "daemon/runtime/event_bus.hpp"
#include "daemon/store/vm_store.hpp"
#include "policy/host_caps.hpp"
#include "policy/presets.hpp"

namespace qmd::daemon {

namespace network {
class NatNetwork;
}

struct DaemonContext {
  asio::any_io_executor executor;  // the one loop thread: all VM state lives here
  asio::thread_pool& blocking;     // file copies, qemu-img, swtpm_setup
  Config config;
  policy::HostCaps host;
  policy::PresetCatalog presets;
  VmStore& store;
  EventBus& events;
  // Set when qmd runs as root: the claims and images qmd makes in the storage
  // roots are its. A VM's QEMU runs as the VM's own uid from qemu_uids (Vm::qemu_owner).
  std::optional<Credentials> qemu_user;
  std::set<int> pinned_cpus;             // host CPUs given to dedicatedCpuPlacement vCPUs
  HeldPorts forwarded_ports;             // host ports of running VMs' interfaces[].ports
  // Set while the guests are shut down for the host (HostShutdown::run): no VM starts then,
  // neither by the API nor by runStrategy nor by autostart, so none escapes the plan.
  bool host_shutting_down = false;
  ProbeStatus probe{};  // where `host` came from (host_probe.hpp)
  // The managed NAT network masquerade interfaces join (network.masquerade: nat); null when
  // masquerade is user-mode networking.
  std::shared_ptr<network::NatNetwork> nat{};
  // The bridges qmd makes for multus networks (qmd.yaml's bridges: NAME: {bridge: ...}), by
  // network name; each a managed network of its own (network/bridge_networks.hpp).
  std::map<std::string, std::shared_ptr<network::NatNetwork>> bridge_networks{};
  // A uid per VM (qemuUids); null when qmd is not root or qemuUser is root (QEMU runs as it).
  std::shared_ptr<UidPool> qemu_uids{};
};

}  // namespace qmd::daemon
