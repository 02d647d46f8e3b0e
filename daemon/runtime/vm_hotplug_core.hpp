#pragma once
// Private to vm_hotplug*.cpp: the run's hotplug state, the plans that the disk and NIC files
// fill in for the one attach/detach core (vm_hotplug.cpp), and the helpers they share.
#include <yaml-cpp/yaml.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "daemon/runtime/vm.hpp"
#include "devices/naming.hpp"
#include "devices/pci.hpp"
#include "devices/qmp_call.hpp"
#include "qmp/commands.hpp"

namespace qmd::daemon {

namespace hotplug {

inline constexpr const char* kDisk = "disk";
inline constexpr const char* kNic = "nic";

// What qmd placed for one hot-added device, to find a free LUN and to clean up on detach.
struct Placed {
  std::string bus;        // disks: virtio|scsi
  std::uint32_t lun = 0;  // scsi disks
  std::string tap;        // bridge NICs: the tap qmd made, deleted on detach
};

// The devices of one kind (disks or NICs) as this run changed them.
struct Devices {
  std::map<std::string, Placed> added;  // added in this run, by spec name
  std::set<std::string> gone;           // in the definition, detached in this run
  bool attached(const std::string& name, bool in_spec) const {
    return added.contains(name) || (in_spec && !gone.contains(name));
  }
};

// An unplug that timed out: when the guest lets go after all, qmd frees the backend then.
struct Late {
  std::string kind;  // kDisk|kNic
  std::string name;
  bool in_spec = false;
  std::string tap;
};

// One QMP call of an attach and, for a backend, the call that takes it away again.
struct Step {
  devices::QmpCall call;
  std::optional<devices::QmpCall> undo;
  OpError::Code failure = OpError::Code::failed;  // bad_request where the input is to blame
  // getfd: gives the descriptor that goes with the call (SCM_RIGHTS), taken when it is sent.
  std::function<UniqueFd()> fd{};
};

using DefinitionEdit = std::function<void(YAML::Node)>;  // gets the template's spec

std::expected<std::string, OpError> edit_definition(const std::string& text,
                                                    const DefinitionEdit& edit);
// `text` with `edit` applied, then put through `check` (Vm::definition_check: parse + render).
std::expected<std::string, OpError> checked_edit(
    const std::string& text, const DefinitionEdit& edit,
    const std::function<OpResult(const std::string&)>& check);
// Removes the entries named `name` from the sequence parent[key].
void remove_named(YAML::Node parent, const char* key, const std::string& name);

OpError bad_request(std::string message);
OpError conflict(std::string message);
OpError qmp_failure(const std::string& vm, std::string_view what, const qmp::QmpError& error,
                    OpError::Code command_code = OpError::Code::failed);
// Spec names (validation caps them at 24 so that node names stay within QEMU's 31).
bool valid_name(const std::string& name);
// A file attached at run time without a format: qcow2 when it starts with qcow2's magic
// ("QFI\xfb"), else raw. Its backing file is never opened either way.
std::string sniff_format(int fd);
// As the renderer decides it: q35 unless machine.type names another family.
bool is_q35(const policy::VmSpec& spec);
// The definition's disk named `name`, or nullptr.
const policy::DiskDevice* definition_disk(const policy::VmSpec& spec, const std::string& name);
asio::awaitable<qmp::QmpDone> run_call(qmp::QmpClient& qmp, const devices::QmpCall& call);
// A step's call, with its descriptor when it has one (getfd).
asio::awaitable<qmp::QmpDone> run_step(qmp::QmpClient& qmp, const Step& step);
// q35: the lowest pcie-root-port with nothing behind it; pc: the first free slot on pci.0.
asio::awaitable<std::expected<devices::PciSlot, OpError>> free_pci_slot(qmp::QmpClient& qmp,
                                                                      const std::string& vm,
                                                                      bool q35);

}  // namespace hotplug

struct Vm::Run::Hotplug {
  hotplug::Devices disks, nics;
  std::map<std::string, std::shared_ptr<Latch>> deleted;  // device id -> DEVICE_DELETED
  std::map<std::string, hotplug::Late> late;              // device id ->
  std::map<std::string, int> pinned_vcpus;  // hot-added vCPU id -> the host CPU it holds
  hotplug::Devices& of(const std::string& kind) { return kind == hotplug::kDisk ? disks : nics; }
};

struct Vm::HotplugScope {
  std::shared_ptr<Run> run;
  policy::VmSpec spec;
  Run::Hotplug* state = nullptr;
};

struct Vm::AttachPlan {
  std::string kind;  // hotplug::kDisk|kNic
  std::string noun;  // disk|interface, for messages
  std::string name;
  std::vector<hotplug::Step> steps;  // backends, then device_add
  hotplug::Placed placed;
  hotplug::DefinitionEdit persist;  // set with --persist: adds the device to the definition
  // Host resources the device needs before QEMU sees it (a bridge tap), and their undo.
  std::function<OpResult()> prepare_host;
  std::function<void()> undo_host;
  std::string event;    // DiskAttached|InterfaceAttached
  std::string message;  // its text
};

struct Vm::DetachPlan {
  std::string kind;  // hotplug::kDisk|kNic
  std::string noun;  // disk|interface
  std::string name;
  std::string id;  // the QEMU device id
  bool in_spec = false;
  std::string tap;                  // bridge NICs: the tap to delete
  hotplug::DefinitionEdit persist;  // removes the device from the definition
  std::string leftover;             // "its block nodes stay", for a partial release
};

}  // namespace qmd::daemon
