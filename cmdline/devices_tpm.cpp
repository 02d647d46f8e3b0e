// TpmConfigurator: a swtpm sidecar (manufactured once when persistent) and the TPM device.
#include "cmdline/device_configurators.hpp"
#include "devices/tpm.hpp"

namespace qmd::cmdline {

void TpmConfigurator::configure(const policy::VmSpec& spec, RenderResult& out) const {
  const auto& tpm = spec.domain.devices.tpm;
  if (!tpm || !tpm->enabled.value_or(true)) {
    return;
  }
  const bool persistent = tpm->persistent.value_or(false);
  devices::TpmParams params;
  params.persistent = persistent;
  params.state_dir = paths_.tpm_state_dir(persistent);
  params.ctrl_socket = paths_.swtpm_ctrl_socket();
  params.pid_file = paths_.swtpm_pid();
  params.log_file = paths_.swtpm_log();
  params.swtpm = facts_.swtpm;
  params.swtpm_setup = facts_.swtpm_setup;
  const auto plan = devices::tpm_plan(params);

  out.prepare.push_back({FilePrep::Kind::make_dir, "", plan.state_dir, 0, "raw", 0700});
  for (const auto& s : plan.sidecars) {
    out.sidecars.push_back({s.name, s.argv, s.run_once, s.skip_if_exists});
  }
  out.argv.append(plan.options);
}

}  // namespace qmd::cmdline
