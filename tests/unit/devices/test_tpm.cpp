#include <doctest/doctest.h>

#include "devices/tpm.hpp"

using namespace qmd::devices;

namespace {
TpmParams params(bool persistent) {
  TpmParams p;
  p.persistent = persistent;
  p.state_dir = persistent ? "/var/lib/qmd/vms/w/tpm" : "/run/qmd/vms/w/tpm";
  p.ctrl_socket = "/run/qmd/vms/w/swtpm-ctrl.sock";
  p.pid_file = "/run/qmd/vms/w/swtpm.pid";
  p.log_file = "/run/qmd/vms/w/swtpm.log";
  return p;
}

const std::vector<std::string> swtpm_argv(const std::string& dir) {
  return {"/usr/bin/swtpm",
          "socket",
          "--tpm2",
          "--tpmstate",
          "dir=" + dir + ",mode=0600",
          "--ctrl",
          "type=unixio,path=/run/qmd/vms/w/swtpm-ctrl.sock",
          "--pid",
          "file=/run/qmd/vms/w/swtpm.pid",
          "--log",
          "file=/run/qmd/vms/w/swtpm.log,level=1",
          "--terminate"};
}
}  // namespace

TEST_CASE("an ephemeral TPM needs no manufacturing and uses tpm-tis") {
  const auto plan = tpm_plan(params(false));
  CHECK(plan.state_dir == "/run/qmd/vms/w/tpm");
  REQUIRE(plan.sidecars.size() == 1);
  CHECK(plan.sidecars[0].name == "swtpm");
  CHECK(plan.sidecars[0].argv == swtpm_argv("/run/qmd/vms/w/tpm"));
  CHECK(!plan.sidecars[0].run_once);
  CHECK(plan.options ==
        std::vector<Option>{{"-chardev", "socket,id=chrtpm,path=/run/qmd/vms/w/swtpm-ctrl.sock"},
                            {"-tpmdev", "emulator,id=tpm0,chardev=chrtpm"},
                            {"-device", "tpm-tis,id=tpm-device0,tpmdev=tpm0"}});
}

TEST_CASE("a persistent TPM is manufactured once and uses tpm-crb") {
  const auto plan = tpm_plan(params(true));
  REQUIRE(plan.sidecars.size() == 2);
  const auto& setup = plan.sidecars[0];
  CHECK(setup.name == "swtpm-setup");
  CHECK(setup.run_once);
  CHECK(setup.skip_if_exists == "/var/lib/qmd/vms/w/tpm/tpm2-00.permall");
  CHECK(setup.argv == std::vector<std::string>{"/usr/bin/swtpm_setup", "--tpm2", "--tpmstate",
                                               "/var/lib/qmd/vms/w/tpm", "--create-ek-cert",
                                               "--create-platform-cert", "--lock-nvram",
                                               "--not-overwrite"});
  CHECK(plan.sidecars[1].argv == swtpm_argv("/var/lib/qmd/vms/w/tpm"));
  CHECK(plan.options.back() == Option{"-device", "tpm-crb,id=tpm-device0,tpmdev=tpm0"});
}
