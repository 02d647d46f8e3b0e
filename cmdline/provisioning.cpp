#include "cmdline/provisioning.hpp"

#include <fmt/format.h>

#include "policy/ignition.hpp"

namespace qmd::cmdline {

void IgnitionConfigurator::configure(const policy::VmSpec& spec, RenderResult& out) const {
  if (!policy::ignition_data(spec)) {
    return;
  }
  out.argv.add("-fw_cfg", fmt::format("name=opt/com.coreos/config,file={}",
                                      ignition_config_path(paths_)));
}

void FirmwareLogConfigurator::configure(const policy::VmSpec&, RenderResult& out) const {
  if (!enabled_) {
    return;
  }
  out.argv.add("-chardev", fmt::format("file,id=firmwarelog,path={}", firmware_log_path(paths_)));
  out.argv.add("-device", "isa-debugcon,iobase=0x402,chardev=firmwarelog");
}

}  // namespace qmd::cmdline
