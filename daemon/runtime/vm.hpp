#pragma once
// One VM: its definition, its state, and — while it runs — its QEMU, swtpm, QMP connection
// and guest agent. Lifecycle operations run one at a time per VM (AsyncMutex); different
// VMs run in parallel on the same loop. Everything here lives on the loop thread.
#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <expected>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cmdline/render.hpp"
#include "daemon/runtime/console_log.hpp"
#include "base/unique_fd.hpp"
#include "daemon/runtime/context.hpp"
#include "daemon/runtime/guest_report.hpp"
#include "daemon/runtime/hot_nic_record.hpp"
#include "daemon/runtime/migrate_storage.hpp"
#include "daemon/runtime/migrate_tls.hpp"
#include "daemon/runtime/operations.hpp"
#include "daemon/runtime/op_error.hpp"
#include "daemon/runtime/probe_tally.hpp"
#include "daemon/runtime/start_decisions.hpp"
#include "daemon/launch/process_handle.hpp"
#include "daemon/async/sync.hpp"
#include "daemon/runtime/vm_actions.hpp"
#include "daemon/runtime/vm_run_parts.hpp"
#include "daemon/runtime/vm_state.hpp"
#include "daemon/runtime/vm_views.hpp"
#include "policy/spec.hpp"
#include "qmp/client.hpp"
#include "qmp/key_codes.hpp"
#include "qmp/replies.hpp"
#include "qmp/qga_client.hpp"

namespace qmd::devices {
struct DiskParams;
struct NicParams;
}  // namespace qmd::devices

namespace qmd::daemon {

using OpResult = std::expected<void, OpError>;
namespace migration {
class DestinationQmd;
}

// What qmd keeps about a VM besides its spec (record.json).
struct VmRecord {
  std::string uuid;        // -uuid: the spec's firmware.uuid, else one made at define
  std::string created_at;
  std::string last_error;  // the last start or run failure, for `qmctl show`
  // Live migration: set on the source once the destination owns the VM (where and when);
  // `incoming` marks a destination's VM until the source hands it over (a qmd that finds
  // one at start drops it: the migration it belonged to is over).
  std::string migrated_to;
  std::string migrated_at;
  bool incoming = false;
  // A postcopy migration failed after the switch: this QEMU's memory is stale, and resuming
  // it (or restarting it) could run the guest twice. Why, in words; kept until that QEMU
  // ends, across qmd restarts, so the VM can only be killed.
  std::string split_memory;
  // Set while this VM sends itself to another qmd: a qmd that adopts its QEMU then knows the
  // migration QEMU reports is outgoing (a destination's QEMU reports its incoming one).
  std::string migrating_to;
  // Suspended to disk (host shutdown's suspend): when, the machine type QEMU ran (the
  // restore must ask for the same), and whether the guest was paused. Empty: nothing saved.
  std::string saved_at;
  std::string saved_machine;
  bool saved_paused = false;
  std::string saved_argv;  // argv_digest of what ran: a restore needs the same
  // argv_digest of the running QEMU's command line as rendered at its start (kept across qmd
  // restarts): a save needs the definition to render it still.
  std::string started_argv;
  // The host ports this run's interfaces[].ports use (kept across qmd restarts: an adopted
  // VM holds them still); empty while stopped.
  std::vector<policy::PortForward> forwards;
  // NICs this run attached without --persist (kept across qmd restarts: an adopted VM takes
  // them back, vm_hot_nics.cpp); empty while stopped. hot_nics_dropped: why entries read
  // back were not taken (said at adoption), never written.
  std::vector<HotNic> hot_nics;
  std::vector<std::string> hot_nics_dropped;
  // Claims qmd made for this VM's dataVolumeTemplates: deleted with the VM, never otherwise.
  std::vector<std::string> owned_claims;
  // The uid (and gid) of qemuUids this VM's QEMU and sidecars run as: taken at its first
  // start (or arrival), kept until it is deleted (vm_uid.cpp).
  std::optional<uid_t> qemu_uid;
  boost::json::object to_json() const;
  static VmRecord from_json(const std::string& text);
};

// A digest of a rendered argv: a saved state restores only into the same one.
std::string argv_digest(const cmdline::RenderResult& rendered);

// Parses a spec text (YAML or JSON) and applies the presets; `file` names it in errors.
std::expected<policy::VmSpec, OpError> parse_definition(const DaemonContext& ctx,
                                                        const std::string& text,
                                                        const std::string& file);
// parse_definition for a definition a user gives (create, update, hotplug --persist, an
// incoming migration): also every path it names lies beneath a storage root.
std::expected<policy::VmSpec, OpError> parse_user_definition(const DaemonContext& ctx,
                                                             const std::string& text,
                                                             const std::string& file);

class Vm : public std::enable_shared_from_this<Vm> {
 public:
  Vm(DaemonContext& ctx, std::string name, std::string spec_text, VmRecord record);
  ~Vm();
  Vm(const Vm&) = delete;
  Vm& operator=(const Vm&) = delete;

  const std::string& name() const { return name_; }
  VmState state() const { return state_; }
  const std::string& spec_text() const { return spec_text_; }
  const VmRecord& record() const { return record_; }
  std::string run_strategy() const;  // Always, RerunOnFailure, Manual, Halted
  // The stored definition, parsed (cached): which claims and images it names.
  std::expected<policy::VmSpec, OpError> definition() const { return spec(); }
  cmdline::VmPaths paths() const;
  // Who this VM's QEMU, swtpm, passt and files run as and belong to: its own uid when qmd is
  // root (vm_uid.cpp), else qmd's QEMU user (root only) or nobody to drop to.
  std::optional<Credentials> qemu_owner() const;
  // Gives the VM its uid when it has none (or one outside qemuUids now); refuses when a
  // process still runs with it. Under the VM's lock, or before anyone else knows the VM.
  // `source_on_this_host`: an arrival whose stream comes over a unix socket, which may run
  // as its source QEMU's uid.
  asio::awaitable<OpResult> claim_qemu_uid(bool source_on_this_host = false);
  // interfaces[].ports of the running VM with the host port each uses; empty when stopped.
  std::vector<policy::PortForward> port_forwards() const;
  std::string log_path() const;  // QEMU's stdout/stderr

  // GET /v1/vms entry: views into this VM, read at once (vm_views.hpp).
  VmSummary summary() const;
  VmDetails details() const;  // GET /v1/vms/NAME

  // The argv qmd would start now (GET /v1/vms/NAME/argv); a running VM's forwards keep the
  // host ports they use.
  std::expected<cmdline::RenderResult, OpError> render() const;
  // ... with the host ports of interfaces[].ports chosen by the daemon.
  std::expected<cmdline::RenderResult, OpError> render(
      const std::vector<policy::PortForward>& forwards) const;

  // Lifecycle; each waits for the VM's lock, then for the change to finish.
  asio::awaitable<OpResult> start();
  // Graceful: the agent's guest-shutdown when it answers, else ACPI powerdown (sent twice),
  // up to `grace` (default: the spec's terminationGracePeriodSeconds, else 180 s), then quit,
  // SIGTERM, SIGKILL.
  asio::awaitable<OpResult> stop(std::optional<std::chrono::seconds> grace);
  asio::awaitable<OpResult> kill();
  asio::awaitable<OpResult> pause();
  asio::awaitable<OpResult> resume();
  asio::awaitable<OpResult> reset();
  asio::awaitable<OpResult> reboot();
  // A new definition; takes effect at the next start. The name must stay, and `check` (the
  // registry's: a uuid no other VM holds) must pass, under the VM's lock.
  using DefinitionCheck = std::function<std::optional<OpError>(const policy::VmSpec&)>;
  asio::awaitable<OpResult> redefine(std::string spec_text, DefinitionCheck check = {});
  // Kills the VM when `force` (else a running VM is a conflict), then forgets its runtime.
  asio::awaitable<OpResult> retire(bool force);

  // dataVolumeTemplates (vm_data_volumes.cpp): makes each template's claim that is missing
  // and records it as owned. Under the VM's lock (create calls it; a start does it itself).
  asio::awaitable<OpResult> provision();

  // Suspend to disk (vm_saved_state.cpp): the guest's memory and device state go into a file
  // in its state directory and QEMU quits; the next start restores it instead of booting.
  // Within `within`; on failure the VM runs on as it was.
  asio::awaitable<OpResult> suspend_to_disk(std::chrono::seconds within);
  // Drops a saved state, so that the next start boots afresh. Only while stopped.
  asio::awaitable<OpResult> discard_saved_state();
  bool has_saved_state() const { return !record_.saved_at.empty(); }
  std::string saved_state_path() const;

  // At qmd start: takes over a QEMU left running by an earlier qmd, when its pidfile points
  // at a process whose command line carries this VM's uuid. Returns true when adopted.
  asio::awaitable<bool> adopt();
  // The stale QEMU of a split postcopy migration is gone (found so at qmd start): clears the
  // record's mark and says why the VM must not start by itself; nullopt when it was not split.
  std::optional<std::string> end_split();

  // Live migration, source side (vm_migrate.cpp). Checks that the VM can move, asks the
  // destination qmd to get ready (POST /v1/migrations/incoming), and returns the operation
  // that follows the transfer in the background; an error here means nothing changed.
  struct MigrateOptions {
    std::string destination;              // the other qmd's API socket
    std::uint64_t max_bandwidth = 0;      // bytes/s; 0: unlimited (QEMU's own is 128 MiB/s)
    std::uint64_t postcopy_bandwidth = 0;  // bytes/s after a switch to postcopy; 0: unlimited
    std::uint32_t downtime_limit_ms = 300;
    std::uint32_t max_downtime_ms = 2000; // how far qmd raises it when a guest won't converge
    bool auto_converge = false;
    bool postcopy = false;
    std::uint32_t multifd_channels = 0;   // 0: one stream
    std::chrono::seconds timeout{600};    // the whole transfer
    std::string transport = "auto";       // auto (unix on the same host, else tcp)|unix|tcp
    bool copy_storage = false;            // mirror local disks to the destination over NBD
    std::map<std::string, std::string> storage_paths;  // source path -> destination path
  };
  asio::awaitable<std::expected<std::shared_ptr<Operation>, OpError>> migrate(
      MigrateOptions options, Operations& operations);

  // Destination side (vm_incoming.cpp), called by Registry::incoming on a new VM: QEMU with
  // -incoming defer listening on `uri`; nothing arriving within `arrive_within` (or QEMU
  // dying) ends it and calls `discard`.
  // Where the destination takes the stream, and (copyStorage) the disks and its NBD server.
  struct MigrationTarget {
    std::string uri;
    std::vector<storage::CopyDisk> disks;
    migration::NbdAddress nbd;
    std::shared_ptr<migration::DestinationQmd> destination;  // its ssh session open
    std::optional<migrate_tls::Setup> tls;    // migration.tls over tcp: QEMU's client creds
  };
  struct IncomingStart {
    std::string machine_type;            // the source's resolved one (pc-q35-7.2)
    std::optional<std::uint64_t> tsc_frequency;  // the source's pinned -cpu tsc-frequency, Hz
    std::optional<std::string> nvram;    // the source's VARS bytes
    std::vector<std::string> capabilities;  // migration capabilities both ends need
    std::uint32_t multifd_channels = 0;
    std::string uri;                     // where QEMU listens: unix:PATH or tcp:HOST:PORT
    std::chrono::seconds arrive_within{60};
    std::chrono::seconds finish_within{900};
    std::function<void()> discard;       // removes the VM from the registry and the store
    std::vector<storage::CopyDisk> copy_disks;  // created if missing, exported over NBD
    migration::NbdAddress nbd_address;          // where the NBD server listens
    std::optional<migrate_tls::Setup> tls;      // migration.tls over tcp: QEMU's server creds
  };
  asio::awaitable<OpResult> start_incoming(IncomingStart request);
  // The destination's view: {"status": QEMU's migration status, "state": ...}.
  asio::awaitable<std::expected<migration::IncomingStatus, OpError>> incoming_status();
  // The source finished: own the definition here, and (`resume`: it ran on the source) run
  // the guest and sync its clock.
  asio::awaitable<OpResult> commit_incoming(bool resume);
  // The source gave up (or never came): QEMU and swtpm go, and the VM with them.
  asio::awaitable<OpResult> abort_incoming(std::string why);
  bool is_incoming() const { return record_.incoming; }
  // How an incoming VM leaves the registry: set before a restarted qmd adopts one.
  void set_discard(std::function<void()> discard) { discard_ = std::move(discard); }

  // Probes (vm_probes.cpp). Ready: running, and the readiness probe passes when the spec has
  // one (KubeVirt's Ready condition).
  bool ready() const;
  using ProbeStatus = VmProbeStatus;
  // nullopt while the VM does not run or its spec has no probe.
  std::optional<ProbeStatus> probe_status() const;

  // Agent access for later features; nullptr while the VM is not running.
  qmp::QgaClient* agent() { return run_ ? &run_->agent : nullptr; }
  qmp::QmpClient* monitor() { return run_ && run_->qmp ? &*run_->qmp : nullptr; }

  // Guest agent (vm_guest.cpp). These take no lifecycle lock: QgaClient queues agent commands
  // itself, and a hung agent must not hold up pause, stop or kill. Each pings the agent first
  // (a few seconds at most): Conflict when no agent has answered in this run, timeout when
  // one did and now stays silent.
  // Everything the agent tells about the guest; a field the agent lacks or fails holds why.
  asio::awaitable<std::expected<GuestReport, OpError>> guest_info();
  // Runs `path` with `args` in the guest: its exit code or signal and its output; timeout
  // when it runs longer than `limit` (the process keeps running in the guest).
  asio::awaitable<std::expected<qmp::GuestExecResult, OpError>> guest_exec(
      std::string path, std::vector<std::string> args, std::chrono::seconds limit);
  asio::awaitable<OpResult> guest_ping();
  // The password goes to the agent only: never into a log, an event or an error.
  asio::awaitable<OpResult> guest_set_password(std::string user, std::string password,
                                               bool crypted);
  // Freezes the guest's file systems (returns how many) and thaws them after `auto_thaw`
  // unless guest_thaw comes first, so a caller that vanishes cannot leave the guest frozen.
  asio::awaitable<std::expected<std::int64_t, OpError>> guest_freeze(
      std::chrono::seconds auto_thaw);
  // `why` goes into the GuestThawed event ("on request", "automatically after 60 s").
  asio::awaitable<std::expected<std::int64_t, OpError>> guest_thaw(std::string why);
  // Sets the guest clock to the host's (after a resume, and after a migration).
  asio::awaitable<OpResult> guest_sync_time();

  // Hotplug (vm_hotplug*.cpp). Each takes the VM's lock and needs a running VM. Without
  // `persist` a change lasts until the VM stops; with it, the stored definition changes too
  // (only once the device is in, so a failed hotplug changes nothing).
  struct DiskAttach {
    std::string name;
    std::string path;
    std::string bus = "virtio";          // virtio|scsi (scsi: the VM needs its scsi0)
    std::optional<std::string> format;   // raw|qcow2; default: from the file's first bytes
    std::optional<std::string> cache;    // none|writethrough|writeback
    bool readonly = false;
    bool persist = false;
  };
  struct InterfaceAttach {
    std::string name;
    std::string binding = "user";  // user|tap|bridge
    std::string network;           // bridge: the multus networkName qmd.yaml maps to a bridge
    std::string tap_name;          // tap: an existing host tap
    std::string mac;               // default: devices::stable_mac
    bool persist = false;
  };
  asio::awaitable<OpResult> attach_disk(DiskAttach request);
  // device_del, DEVICE_DELETED within 30 s (else a timeout and the disk stays), blockdev-del.
  asio::awaitable<OpResult> detach_disk(std::string disk, bool persist);
  asio::awaitable<OpResult> attach_interface(InterfaceAttach request);
  asio::awaitable<OpResult> detach_interface(std::string iface, bool persist);
  // Plugs or unplugs vCPUs up to the slots -smp maxcpus has (maxSockets); boot vCPUs stay.
  // With dedicatedCpuPlacement a hot-added vCPU is pinned like a boot one. `persist` writes
  // cpu.sockets (count / (cores x threads)) once the change is in.
  asio::awaitable<std::expected<CpuChange, OpError>> set_cpus(std::uint32_t count,
                                                              bool persist = false);
  // Total guest memory between memory.guest and memory.maxGuest (virtio-mem requested-size).
  // `persist` makes it memory.guest of the stored definition once the change is in.
  asio::awaitable<OpResult> set_memory(std::uint64_t bytes, bool persist = false);
  // The balloon target, for VMs without virtio-mem.
  asio::awaitable<OpResult> set_balloon(std::uint64_t bytes);

  // CD-ROM media (vm_cdrom.cpp): `path` (beneath a storage root, read-only) goes into the
  // cdrom drive `disk`, replacing what it held; nullopt ejects. `persist` writes the medium
  // (a file volume) or its absence into the definition.
  asio::awaitable<OpResult> change_medium(std::string disk, std::optional<std::string> path,
                                          bool persist);

  // Online resize (vm_resize.cpp): the disk grows to `bytes` (a whole number of sectors,
  // above its size now), seen by the guest at once. `persist` writes the capacity of a
  // volume qmd creates (hostDisk DiskOrCreate, emptyDisk).
  asio::awaitable<OpResult> resize_disk(std::string disk, std::uint64_t bytes, bool persist);

  // The serial console as qmd keeps it (vm_console.cpp): its log, and QEMU's end for a
  // session while the VM runs with one.
  std::shared_ptr<ConsoleLog> console_log() const { return console_; }

  // The screen (vm_screen.cpp), of a running or paused VM with a graphics device. No lock.
  struct ScreenSocket {
    std::string path;  // QEMU's VNC server (a Unix socket in the run dir)
    pid_t pid = 0;     // the QEMU that must be listening on it
  };
  // Where the VNC relay connects; refused (named `what`) when the VM shows no screen now.
  std::expected<ScreenSocket, OpError> screen_socket(std::string_view what) const;
  // The display as PNG bytes.
  asio::awaitable<std::expected<std::string, OpError>> screenshot();
  // Presses each combination in turn on the VM's keyboard, each held `hold`.
  asio::awaitable<OpResult> send_keys(std::vector<qmp::KeyCombo> combos,
                                      std::chrono::milliseconds hold);

 private:
  // One run: the lifecycle's own fields (vm_start.cpp, vm_supervise.cpp, vm_stop.cpp), then
  // each feature's state in a group it owns (vm_run_parts.hpp says which file owns which).
  struct Run {
    Run(asio::any_io_executor ex, std::string agent_path, qmp::QgaOptions agent_options)
        : agent(ex, std::move(agent_path), std::move(agent_options)), exited(ex) {}
    std::optional<ProcessHandle> qemu;
    std::optional<ProcessHandle> swtpm;
    std::optional<qmp::QmpClient> qmp;
    qmp::QgaClient agent;
    Latch exited;                // QEMU is gone and cleanup is done
    bool stop_requested = false; // an exit now is a stop, not a crash
    bool guest_shutdown = false; // SHUTDOWN seen: the guest (or we) powered it off
    std::string qemu_version;
    std::string started_at;
    std::vector<int> pinned;     // host CPUs taken from the context (boot and hot-added vCPUs)
    std::vector<std::string> disk_images;  // fd set N holds disk_images[N-1] (QEMU's errors)
    // Why qmd killed QEMU for the guest's fault (a panic, a failed liveness probe): the
    // run's failure in the record and the state change instead of "killed by signal 9".
    std::string kill_reason;
    RunNetwork network;
    RunMigration migration;
    RunAgent agent_state;
    AccessKeySync access_keys;  // vm_access.cpp
    RunProbes probes;
    // Hotplug (vm_hotplug.cpp; the type is in vm_hotplug_core.hpp): devices added or removed
    // in this run, unplug waiters. Made on first use.
    struct Hotplug;
    std::shared_ptr<Hotplug> hotplug;
  };

  void set_state(VmState state, std::string message);
  void publish(std::string type, std::string message);
  std::expected<policy::VmSpec, OpError> spec() const;
  // The action table's refusal of `action` in the VM's state now (vm_actions.hpp), naming
  // the VM and what to do; `what` names the action to the user (default: its own name). A
  // nothing-to-do verdict is no refusal: callers that care ask verdict() themselves.
  OpResult check(VmAction action, std::string_view what = {}) const;
  // check()'s refusal only when a migration holds the VM: what runs before waiting for the
  // lock (which the migration holds for the whole transfer); the rest is asked under it.
  OpResult check_migration(VmAction action, std::string_view what = {}) const {
    return verdict(action, state_) == Verdict::migration_busy ? check(action, what) : OpResult{};
  }
  OpResult startable() const;
  asio::awaitable<OpResult> set_vcpus_running(bool running);  // pause and resume

  // With `incoming`: QEMU waits for a migration stream instead of booting (vm_incoming.cpp).
  asio::awaitable<OpResult> start_locked(const IncomingStart* incoming = nullptr);
  // The start's steps (vm_start.cpp), in order. plan_start decides what runs before anything
  // is made (a refusal there is only recorded); each later step adds to the run what it
  // makes, so that fail_start's teardown takes back exactly that.
  struct StartPlan;
  using StartStep = asio::awaitable<std::optional<StartFailure>> (Vm::*)(
      std::shared_ptr<const StartPlan>, std::shared_ptr<Run>);
  asio::awaitable<std::expected<StartPlan, OpError>> plan_start(const IncomingStart* incoming);
  std::unexpected<OpError> refuse_start(OpError error);
  asio::awaitable<std::optional<StartFailure>> prepare_files(std::shared_ptr<const StartPlan> plan,
                                                             std::shared_ptr<Run> run);
  asio::awaitable<std::optional<StartFailure>> write_start_files(
      std::shared_ptr<const StartPlan> plan);
  asio::awaitable<std::optional<StartFailure>> start_host_side(
      std::shared_ptr<const StartPlan> plan, std::shared_ptr<Run> run);
  asio::awaitable<std::optional<StartFailure>> spawn_qemu(std::shared_ptr<const StartPlan> plan,
                                                          std::shared_ptr<Run> run);
  asio::awaitable<std::optional<StartFailure>> begin_incoming(
      std::shared_ptr<const StartPlan> plan, std::shared_ptr<Run> run);
  asio::awaitable<std::optional<StartFailure>> begin_guest(std::shared_ptr<const StartPlan> plan,
                                                           std::shared_ptr<Run> run);
  asio::awaitable<OpResult> fail_start(std::shared_ptr<Run> run, StartFailure failure);
  // The end of a start: the record, the state (paused for startStrategy: Paused), and the
  // supervisor and agent watch of `run`.
  void mark_started(const std::shared_ptr<Run>& run, bool paused);
  OpResult check_paths_at_start() const;
  struct DiskDescriptors {
    std::vector<std::string> args;  // QEMU's args with /dev/fdset/N for each disk
    std::vector<UniqueFd> fds;      // qmd's copies (the taps' too), closed once QEMU has its own
    std::vector<std::string> images;  // fd set N holds images[N-1]
  };
  std::expected<DiskDescriptors, std::string> disk_descriptors(
      const std::vector<std::string>& args) const;
  std::optional<std::string> prepare_host(const cmdline::RenderResult& rendered);
  // The NAT network (vm_nat.cpp): each masquerade tap's lease and guard before the tap is
  // made, the guards' removal when the run ends, and both again for a QEMU adopted after a
  // restart of qmd (its taps are this run's again, so they go when it stops).
  asio::awaitable<std::optional<std::string>> attach_nat(const cmdline::RenderResult& rendered);
  asio::awaitable<void> detach_nat(Run& run);
  asio::awaitable<std::optional<std::string>> forward_nat_ports(
      const cmdline::RenderResult& rendered);
  asio::awaitable<void> readopt_taps(std::shared_ptr<Run> run);
  // A `tap` binding naming one of qmd's own taps, or a port of a bridge qmd manages: refused.
  std::optional<std::string> check_tap_bindings() const;
  // NIC hotplug (vm_hotplug_nic.cpp): the host side's checks and the bridge the tap joins
  // ("" for user and tap bindings); the NIC's parameters and plan; a NAT tap's guard off again.
  std::expected<std::string, OpError> hotplug_host_checks(const InterfaceAttach& r) const;
  asio::awaitable<void> leave_nat(Run& run, std::string tap);
  // NICs attached without --persist, in the record while the run lasts (vm_hot_nics.cpp):
  // written before the attach (dropped again when it fails); dropped at their detach, their
  // lease freed when the definition does not name them; taken back by an adoption (their
  // taps, guards and hotplug state, after QEMU confirms each device); all freed when the run
  // ends or its QEMU is not adopted.
  void record_hot_nic(HotNic nic);
  asio::awaitable<void> forget_hot_nic(std::string name);
  asio::awaitable<void> readopt_hot_nics(std::shared_ptr<Run> run);
  asio::awaitable<void> take_hot_nic(std::shared_ptr<Run> run, HotNic nic);
  // `earlier_guards`: a guard an earlier qmd put in may be left (no run of this qmd had the
  // NICs), else the run's end took them with its own.
  asio::awaitable<void> end_hot_nics(bool earlier_guards);
  // A hot NIC's part of the host freed: the tap qmd made, its guard and (when the definition
  // does not name it) its lease on the NAT network.
  asio::awaitable<void> free_hot_nic(HotNic nic, bool earlier_guard);
  bool names_interface(const std::string& interface) const;  // the definition does
  asio::awaitable<std::optional<std::string>> start_swtpm(const cmdline::RenderResult& rendered);
  // Port forwards and passt (vm_ports.cpp). choose_forwards picks the host ports of the
  // spec's interfaces[].ports (probing on the blocking pool) before anything starts;
  // hold_forwards marks them taken for this run, release_forwards gives them back.
  asio::awaitable<std::expected<std::vector<policy::PortForward>, OpError>> choose_forwards();
  void hold_forwards(Run& run, std::vector<policy::PortForward> forwards);
  void release_forwards(Run& run);
  asio::awaitable<std::optional<std::string>> start_passt(cmdline::SidecarCommand sidecar);
  void adopt_passt(Run& run);  // passt sidecars and forwards of an adopted QEMU
  asio::awaitable<void> stop_passt(Run& run);
  asio::awaitable<std::optional<std::string>> start_qemu(const cmdline::RenderResult& rendered);
  asio::awaitable<std::optional<std::string>> connect_qmp(std::chrono::milliseconds limit);
  std::optional<std::string> apply_pinning(const cmdline::RenderResult& rendered,
                                           const std::vector<qmp::CpuInfo>& cpus);
  void watch_events();
  asio::awaitable<OpResult> make_data_volumes();  // provision() without the lock
  // qmd becomes the console's client for this run (before the guest runs, so its first
  // line is kept); `why` heads the run's part of the log ("started", "adopted").
  asio::awaitable<void> keep_console(std::string why);
  // The agent's and QMP's options with the over-size hooks that log (once per run) and
  // publish what a misbehaving guest or QEMU did (vm_guest.cpp).
  qmp::QgaOptions agent_options();
  qmp::QmpOptions qmp_options();
  asio::awaitable<void> supervise(std::shared_ptr<Run> run);
  // adopt()'s steps (vm_supervise.cpp): the pidfile's QEMU if it is this VM's, its sidecars,
  // and a migration to another qmd that an earlier qmd left (cancelled back, or marked).
  asio::awaitable<std::optional<pid_t>> adoptable_pid();
  void adopt_sidecars(Run& run);
  asio::awaitable<void> settle_outgoing_migration(std::shared_ptr<Run> run);
  asio::awaitable<std::string> cancel_precopy(std::shared_ptr<Run> run);
  asio::awaitable<void> watch_agent(std::shared_ptr<Run> run);
  // Spawns a loop per probe of the spec for `run` (called as the agent watch begins).
  void start_probes(const std::shared_ptr<Run>& run);
  bool probe_counts(const std::shared_ptr<Run>& run) const;
  asio::awaitable<void> probe_loop(std::shared_ptr<Run> run, bool liveness, policy::Probe probe);
  void probe_changed(const std::shared_ptr<Run>& run, bool liveness, const policy::Probe& probe);
  asio::awaitable<void> sync_access_keys(std::shared_ptr<Run> run, bool connected_now);
  asio::awaitable<void> teardown(Run& run);  // kills what is left, removes sockets/pidfiles
  // Once the QEMU of a VM that ran as a uid outside this qmd's qemuUids has ended (an arrival
  // from another qmd of this host runs as its source's): the VM names no uid, and its VARS,
  // TPM state and run dir are qmd's until its next start gives it a uid of this qmd's own,
  // since the other qmd may hand that uid out again (vm_uid.cpp).
  asio::awaitable<void> return_borrowed_uid();
  asio::awaitable<OpResult> stop_locked(std::chrono::seconds grace);
  asio::awaitable<OpResult> suspend_locked(std::chrono::seconds within);
  std::string unsaveable(const policy::VmSpec& spec, const cmdline::RenderResult& rendered,
                         std::size_t vcpus) const;
  asio::awaitable<std::expected<std::uint64_t, std::string>> save_stream(
      std::shared_ptr<Run> run, std::string dir, std::uint64_t need, bool was_running,
      std::chrono::steady_clock::time_point until);
  asio::awaitable<std::optional<std::string>> restore_stream(std::shared_ptr<Run> run);
  asio::awaitable<void> finish_restore();
  asio::awaitable<std::string> forget_saved_state();
  asio::awaitable<OpResult> kill_locked();
  asio::awaitable<void> maybe_restart(bool crashed);
  void save_record();
  // vm_migrate.cpp: the source's start; SourceMigration (vm_migrate_follow.cpp) follows it.
  friend class SourceMigration;
  std::expected<std::pair<policy::VmSpec, cmdline::RenderResult>, OpError> migratable(
      const Operations& operations) const;
  asio::awaitable<std::expected<migration::IncomingRequest, OpError>> incoming_request_for(
      MigrateOptions options, std::shared_ptr<Run> run, policy::VmSpec spec,
      cmdline::RenderResult rendered);
  asio::awaitable<void> watch_incoming(std::shared_ptr<Run> run, IncomingStart timing);
  asio::awaitable<void> watch_postcopy(std::shared_ptr<Run> run);
  asio::awaitable<bool> keep_incoming(std::shared_ptr<Run> run, pid_t pid);
  // Devices that came by hotplug without --persist (the destination would lack them), in
  // words; empty when there are none (vm_hotplug.cpp keeps that state).
  std::string transient_devices() const;
  void discard_now();  // an incoming VM that will not arrive leaves the registry
  // Hotplug (vm_hotplug*.cpp; the types are defined in vm_hotplug_core.hpp)
  struct HotplugScope;  // the run, its spec and hotplug state, for one change under the lock
  struct AttachPlan;    // the per-kind parts of a disk or NIC attach
  struct DetachPlan;    // ... and of a detach
  std::expected<HotplugScope, OpError> hotplug_scope(std::string_view action);
  asio::awaitable<OpResult> attach_planned(HotplugScope& scope, AttachPlan plan);
  asio::awaitable<std::expected<devices::NicParams, OpError>> nic_params(HotplugScope& scope,
                                                                        InterfaceAttach r);
  AttachPlan nic_plan(HotplugScope& scope, const InterfaceAttach& r,
                      const devices::NicParams& params, const std::string& bridge);
  // Disk hotplug (vm_hotplug_disk.cpp): where the disk goes, then its fd set and nodes.
  asio::awaitable<std::expected<devices::DiskParams, OpError>> place_disk(
      HotplugScope& scope, devices::DiskParams params);
  asio::awaitable<OpResult> attach_disk_fd(HotplugScope& scope, DiskAttach d,
                                           devices::DiskParams params, UniqueFd fd);
  asio::awaitable<OpResult> detach_planned(HotplugScope& scope, DetachPlan plan, bool persist);
  asio::awaitable<OpResult> swap_medium(std::shared_ptr<Run> run, std::string disk,
                                        UniqueFd image, std::string format);
  // Pins a hot-added vCPU (its device id) to a free host CPU; unpin_vcpu gives it back.
  asio::awaitable<OpResult> pin_vcpu(HotplugScope& scope, std::string id);
  void unpin_vcpu(HotplugScope& scope, const std::string& id);
  // set_cpus' phases: plug the lowest empty slots, unplug the highest hot-added ones (each
  // returns the vCPUs plugged after it), then the event and the --persist definition.
  asio::awaitable<std::expected<std::uint32_t, OpError>> plug_vcpus(
      HotplugScope& scope, std::vector<qmp::HotpluggableCpu> order, std::uint32_t now,
      std::uint32_t count, bool pin);
  asio::awaitable<std::expected<std::uint32_t, OpError>> unplug_vcpus(
      HotplugScope& scope, std::vector<qmp::HotpluggableCpu> order, std::uint32_t now,
      std::uint32_t count);
  OpResult finish_cpus(const CpuChange& change, std::optional<std::string> new_text);
  Run::Hotplug& hotplug_state(const std::shared_ptr<Run>& run);
  asio::awaitable<OpResult> unplug_device(std::shared_ptr<Run> run, std::string id,
                                          std::string what);
  // After DEVICE_DELETED (now, or late when the guest let go after the timeout): frees the
  // backend ("disk": block nodes; "nic": netdev and `tap`); returns what could not be freed.
  asio::awaitable<std::string> release_unplugged(std::shared_ptr<Run> run, std::string kind,
                                                 std::string name, bool in_spec, std::string tap);
  OpResult check_definition(const std::string& text);
  std::function<OpResult(const std::string&)> definition_check();  // check_definition
  OpResult save_definition(std::string text);
  // Replaces the definition text (and forgets what the old one parsed to); returns the old.
  std::string set_spec_text(std::string text);

  DaemonContext& ctx_;
  std::string name_;
  std::string spec_text_;  // changed only by set_spec_text(), which drops parsed_
  // The definition parsed once per text: every listing asks each VM for its runStrategy,
  // so that is kept beside the spec. Parsed at its first use after each set_spec_text()
  // (create, update, load and hotplug --persist all render or list it right away).
  struct ParsedSpec {
    std::expected<policy::VmSpec, OpError> spec;
    std::string run_strategy;  // Always, RerunOnFailure, Manual, Halted
  };
  const ParsedSpec& parsed_spec() const;
  mutable std::optional<ParsedSpec> parsed_;  // empty: spec_text_ not parsed yet
  VmRecord record_;
  std::string saved_record_;  // record_ as last written: save_record() skips an unchanged one
  VmState state_ = VmState::stopped;
  AsyncMutex lock_;
  std::shared_ptr<Run> run_;
  std::shared_ptr<ConsoleLog> console_;  // for the VM's life: the log outlasts each run
  int restarts_ = 0;  // consecutive automatic restarts, for the backoff
  bool retired_ = false;
  std::function<void()> discard_;  // an incoming VM's way out of the registry
  std::vector<MadeFile> incoming_images_;  // images made for a copyStorage migration
};

}  // namespace qmd::daemon
