#include "devices/tpm.hpp"

#include "devices/props.hpp"

namespace qmd::devices {

TpmPlan tpm_plan(const TpmParams& p) {
  TpmPlan plan;
  plan.state_dir = p.state_dir;
  if (p.persistent) {
    plan.sidecars.push_back(
        {"swtpm-setup",
         {p.swtpm_setup, "--tpm2", "--tpmstate", p.state_dir, "--create-ek-cert",
          "--create-platform-cert", "--lock-nvram", "--not-overwrite"},
         true,
         p.state_dir + "/tpm2-00.permall"});
  }
  // --terminate: swtpm exits when QEMU closes the control socket, so it never outlives it.
  plan.sidecars.push_back(
      {"swtpm",
       {p.swtpm, "socket", "--tpm2", "--tpmstate", "dir=" + p.state_dir + ",mode=0600", "--ctrl",
        "type=unixio,path=" + p.ctrl_socket, "--pid", "file=" + p.pid_file, "--log",
        "file=" + p.log_file + ",level=1", "--terminate"},
       false,
       ""});

  const Component chardev{"socket", {{"id", std::string("chrtpm")}, {"path", p.ctrl_socket}}};
  const Component tpmdev{"emulator",
                         {{"id", std::string("tpm0")}, {"chardev", std::string("chrtpm")}}};
  const Component device{p.persistent ? "tpm-crb" : "tpm-tis",
                         {{"id", std::string("tpm-device0")}, {"tpmdev", std::string("tpm0")}}};
  plan.options = {
      {"-chardev", keyval(chardev)}, {"-tpmdev", keyval(tpmdev)}, device_option(device)};
  return plan;
}

}  // namespace qmd::devices
