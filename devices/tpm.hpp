#pragma once
// TPM 2.0 emulated by a swtpm sidecar on a Unix control socket. Persistent state lives in
// the VM's state dir and is manufactured once by swtpm_setup (EK + platform certs) with a
// tpm-crb device, as KubeVirt does; an ephemeral TPM starts blank in the run dir, tpm-tis.
#include <string>
#include <vector>

#include "devices/fragment.hpp"

namespace qmd::devices {

struct Sidecar {
  std::string name;               // "swtpm-setup" | "swtpm"
  std::vector<std::string> argv;  // binary first
  bool run_once = false;          // must exit 0 before QEMU starts
  std::string skip_if_exists;     // run_once: already manufactured when this exists
};

struct TpmParams {
  bool persistent = false;
  std::string state_dir;
  std::string ctrl_socket;
  std::string pid_file;
  std::string log_file;
  std::string swtpm = "/usr/bin/swtpm";
  std::string swtpm_setup = "/usr/bin/swtpm_setup";
};

struct TpmPlan {
  std::vector<Option> options;    // -chardev, -tpmdev, -device
  std::vector<Sidecar> sidecars;  // [swtpm-setup,] swtpm
  std::string state_dir;          // to create (0700) before the sidecars run
};

TpmPlan tpm_plan(const TpmParams& params);

}  // namespace qmd::devices
