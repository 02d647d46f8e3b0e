#pragma once
// The on-disk store of VM definitions: one directory per VM under <stateDir>/vms/NAME with
//   spec.yaml        the spec exactly as the user gave it (YAML or JSON text)
//   record.json      what qmd keeps about the VM (uuid, created, last state, where it went)
// plus the VM's persistent files (OVMF_VARS.fd, tpm/) that the renderer names. Every write
// is atomic (atomic_file.hpp). A directory without spec.yaml (a crash during create) is not
// a VM and is removed on open.
#include <expected>
#include <string>
#include <vector>

namespace qmd::daemon {

struct StoredVm {
  std::string name;
  std::string spec_text;    // as given
  std::string record_json;  // "{}" when none was written yet
};

class VmStore {
 public:
  // Creates <state_dir>/vms (0750) when missing and removes half-created VM directories.
  // `dir_mode` for the state dir and its vms/ (0711 when a QEMU user must pass through).
  static std::expected<VmStore, std::string> open(const std::string& state_dir,
                                                  unsigned dir_mode = 0750);

  const std::string& root() const { return root_; }     // <state_dir>/vms
  std::string vm_dir(const std::string& name) const;    // <root>/NAME

  std::expected<std::vector<StoredVm>, std::string> load_all() const;
  std::expected<StoredVm, std::string> load(const std::string& name) const;
  bool exists(const std::string& name) const;

  // Creates the VM directory (0750) when missing, then writes spec.yaml atomically.
  std::expected<void, std::string> save_spec(const std::string& name, const std::string& text);
  std::expected<void, std::string> save_record(const std::string& name, const std::string& json);
  // Removes the whole VM directory (spec, record, NVRAM, TPM state).
  std::expected<void, std::string> remove(const std::string& name);

 private:
  explicit VmStore(std::string root) : root_(std::move(root)) {}
  std::string root_;
};

}  // namespace qmd::daemon
