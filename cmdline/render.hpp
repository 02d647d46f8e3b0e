#pragma once
// render(spec, host, paths, policy) -> everything needed to start one VM: the QEMU argv, the
// sidecar commands (swtpm), files to prepare (per-VM VARS copy, DiskOrCreate images), the
// vCPU pinning plan. Pure and deterministic: same input, same output, no I/O.
#include <cstdint>
#include <expected>
#include <string>
#include <vector>

#include "cmdline/argv.hpp"
#include "cmdline/paths.hpp"
#include "cmdline/seed.hpp"
#include "devices/props.hpp"
#include "policy/host_caps.hpp"
#include "policy/spec.hpp"
#include "policy/spec_error.hpp"
#include "policy/validate.hpp"

namespace qmd::cmdline {

struct SidecarCommand {
  std::string name;               // "swtpm-setup" (run once, to completion), "swtpm", "passt-X"
  std::vector<std::string> argv;  // binary first
  bool run_once = false;          // true: must exit 0 before QEMU starts
  std::string skip_if_exists;     // run_once only: skip when this path exists (manufactured)
  std::string ready_socket{};     // QEMU starts once this socket exists (passt listens)
  std::string pid_file{};         // where the daemon finds it again after its own restart
  bool own_sandbox = false;       // sandboxes itself (passt): qmd's seccomp profile would
                                  // refuse the namespaces it makes
};

struct FilePrep {
  enum class Kind { copy_if_missing, create_image_if_missing, make_dir };
  Kind kind = Kind::make_dir;
  std::string source;        // copy: the template (OVMF VARS)
  std::string path;          // destination file or directory
  std::uint64_t size = 0;    // create_image: bytes
  std::string format = "raw";
  unsigned mode = 0600;
};

struct PinningPlan {
  bool dedicated = false;         // dedicatedCpuPlacement: one host CPU per vCPU
  std::uint32_t vcpus = 0;
  bool isolate_emulator_thread = false;
  bool numa_passthrough = false;
};

// A host tap the daemon must create before QEMU starts (bridge bindings, and masquerade on
// the managed NAT network). The argv names it (ifname=, queues=); the daemon opens its queues
// and launches QEMU with `netdev` on those descriptors instead (devices::with_tap_fds).
struct TapPlan {
  std::string name{};     // the tap's interface name
  std::string network{};  // multus networkName; the daemon's `bridges` maps it to a bridge
  std::uint32_t queues = 1;  // > 1: an IFF_MULTI_QUEUE tap, one descriptor per queue
  bool vhost = false;        // one /dev/vhost-net descriptor per queue too
  bool nat = false;       // masquerade: joins the managed NAT bridge (network is empty)
  std::string interface{};  // the spec's interface name
  std::string mac{};        // the guest NIC's MAC (the NAT network's DHCP lease is keyed on it)
  devices::Component netdev{};  // its -netdev as the argv has it
  bool operator==(const TapPlan&) const = default;
};

struct RenderResult {
  std::string binary;  // qemu-system-x86_64 path
  Argv argv;
  std::vector<SidecarCommand> sidecars;
  std::vector<FilePrep> prepare;
  std::vector<SeedPlan> seeds;  // seed images the daemon builds before QEMU starts
  std::vector<TapPlan> taps;
  // interfaces[].ports as rendered: each forward with the host port it listens on.
  std::vector<policy::PortForward> forwards;
  PinningPlan pinning;
  std::vector<std::string> env;       // extra NAME=VALUE for QEMU (TZ for the guest clock)
  std::vector<std::string> warnings;  // e.g. Hyper-V features dropped under bestEffort
  bool start_paused = false;  // startStrategy: Paused: the daemon does not send `cont`
};

// `spec` must have its instancetype/preference applied (policy::apply_presets); defaults are
// applied here. Returns every spec and host error instead of an argv when there are any.
std::expected<RenderResult, policy::SpecErrors> render(const policy::VmSpec& spec,
                                                       const policy::HostCaps& host,
                                                       const VmPaths& paths,
                                                       const policy::RunPolicy& policy);

}  // namespace qmd::cmdline
