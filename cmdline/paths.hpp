#pragma once
// Where one VM's sockets and state live. The daemon picks the directories; render only
// builds names inside them, so the argv is a pure function of spec + host + paths.
#include <string>

namespace qmd::cmdline {

struct VmPaths {
  std::string run_dir;    // sockets, pid files, ephemeral VARS/TPM state: /run/qmd/vms/NAME
  std::string state_dir;  // persistent VARS and TPM state: /var/lib/qmd/vms/NAME

  std::string qmp_socket() const { return run_dir + "/qmp.sock"; }
  std::string qga_socket() const { return run_dir + "/qga.sock"; }
  std::string console_socket() const { return run_dir + "/console.sock"; }
  std::string vnc_socket() const { return run_dir + "/vnc.sock"; }
  std::string swtpm_socket() const { return run_dir + "/swtpm.sock"; }
  std::string swtpm_ctrl_socket() const { return run_dir + "/swtpm-ctrl.sock"; }
  std::string swtpm_pid() const { return run_dir + "/swtpm.pid"; }
  std::string swtpm_log() const { return run_dir + "/swtpm.log"; }
  // passt, one per interface (`iface` is the interface's device id part: net-X's X).
  std::string passt_socket(const std::string& iface) const {
    return run_dir + "/passt-" + iface + ".sock";
  }
  std::string passt_pid(const std::string& iface) const {
    return run_dir + "/passt-" + iface + ".pid";
  }
  std::string nvram(bool persistent) const {
    return (persistent ? state_dir : run_dir) + "/OVMF_VARS.fd";
  }
  std::string tpm_state_dir(bool persistent) const {
    return (persistent ? state_dir : run_dir) + "/tpm";
  }
};

}  // namespace qmd::cmdline
