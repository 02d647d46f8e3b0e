#pragma once
// The guest's panic notifier device: QEMU's ISA pvpanic (port 0x505, ACPI QEMU0001), which
// Linux's pvpanic driver and virtio-win's find on q35 (its LPC ISA bridge) and pc alike.
// A guest that reports panics through hv-crash instead (CpuConfigurator) gets none.
#include "cmdline/configurator.hpp"

namespace qmd::cmdline {

class PanicDeviceConfigurator final : public Configurator {
 public:
  explicit PanicDeviceConfigurator(bool pvpanic) : pvpanic_(pvpanic) {}
  void configure(const policy::VmSpec& spec, RenderResult& out) const override;

 private:
  bool pvpanic_;
};

}  // namespace qmd::cmdline
