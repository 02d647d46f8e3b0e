// qmctl: the command-line client. Commands that need no daemon: render, validate, host, trial.
#include <cstring>
#include <iostream>
#include <string_view>

#include "daemon/qmctl/commands.hpp"
#include "qmd_version.hpp"

namespace {

constexpr std::string_view kUsage = R"(usage: qmctl COMMAND [ARGS]

Commands (no daemon needed):
  render FILE     print the QEMU argv for a VM spec (one argument per line; -o json|shell)
  validate FILE   check a VM spec and this host; exit 0, or print every error and exit 1
  host            print what this host offers: KVM, Hyper-V features, OVMF, swtpm (-o json)
  trial FILE      start the rendered VM paused in QEMU, check QMP answers, quit
  version         print the version

Common flags (each overrides the config file):
  --config FILE                the daemon config (default /etc/qmd/qmd.yaml when it exists):
                               useEmulation, hyperv, stateDir, runDir, presetDir, qemuBinary,
                               bridges (multus networkName -> host bridge)
  --emulation                  run under TCG instead of KVM (KubeVirt's useEmulation)
  --hyperv strict|best-effort  refuse, or drop with a warning, Hyper-V features the host lacks
  --fake-host "kvm=yes ..."    render/validate for a described host instead of probing this one
  --run-dir DIR --state-dir DIR
                               this VM's own dirs (default <runDir>/vms/NAME, <stateDir>/vms/NAME)
  --preset-dir DIR             instancetypes and preferences (default presetDir when it exists)
)";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << kUsage;
    return 2;
  }
  const std::string_view cmd = argv[1];
  if (cmd == "render") {
    return cmd_render(argc - 1, argv + 1);
  }
  if (cmd == "validate") {
    return cmd_validate(argc - 1, argv + 1);
  }
  if (cmd == "host") {
    return cmd_host(argc - 1, argv + 1);
  }
  if (cmd == "trial") {
    return cmd_trial(argc - 1, argv + 1);
  }
  if (cmd == "version" || cmd == "--version") {
    std::cout << "qmctl " << QMD_VERSION << '\n';
    return 0;
  }
  if (cmd == "help" || cmd == "--help" || cmd == "-h") {
    std::cout << kUsage;
    return 0;
  }
  std::cerr << "qmctl: unknown command \"" << cmd << "\"\n" << kUsage;
  return 2;
}
