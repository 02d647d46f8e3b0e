#pragma once
// Provisioning and boot diagnostics that are not disks: Ignition's config through fw_cfg
// (KubeVirt's kubevirt.io/ignitiondata annotation) and the firmware's debug port to a log.
#include <string>

#include "cmdline/configurator.hpp"
#include "cmdline/paths.hpp"

namespace qmd::cmdline {

// Where the daemon writes the annotation's data for QEMU to read, and the firmware log.
inline std::string ignition_config_path(const VmPaths& paths) {
  return paths.run_dir + "/ignition.json";
}
inline std::string firmware_log_path(const VmPaths& paths) {
  return paths.run_dir + "/firmware.log";
}

// `-fw_cfg name=opt/com.coreos/config,file=<runDir>/ignition.json`, as KubeVirt's
// QEMU-command configurator does. No annotation, nothing.
class IgnitionConfigurator : public Configurator {
 public:
  explicit IgnitionConfigurator(VmPaths paths) : paths_(std::move(paths)) {}
  void configure(const policy::VmSpec& spec, RenderResult& out) const override;

 private:
  VmPaths paths_;
};

// At qmd's debug verbosity: the firmware's debug port (isa-debugcon at 0x402, where SeaBIOS
// and OVMF debug builds write) to <runDir>/firmware.log, as KubeVirt does for SeaBIOS, so a
// boot that fails before the kernel can be read.
class FirmwareLogConfigurator : public Configurator {
 public:
  FirmwareLogConfigurator(VmPaths paths, bool enabled)
      : paths_(std::move(paths)), enabled_(enabled) {}
  void configure(const policy::VmSpec& spec, RenderResult& out) const override;

 private:
  VmPaths paths_;
  bool enabled_;
};

}  // namespace qmd::cmdline
