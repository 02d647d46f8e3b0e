#include <fmt/format.h>

#include "cmdline/core_configurators.hpp"

namespace qmd::cmdline {

namespace {
std::string on_off(bool b) { return b ? "on" : "off"; }
}  // namespace

void MachineConfigurator::configure(const policy::VmSpec& spec, RenderResult& out) const {
  const auto& d = spec.domain;
  std::string m = d.machine.type.value_or("q35");
  // No USB on the machine itself: a qemu-xhci controller is added only when an input needs it.
  m += ",usb=off,dump-guest-core=off";
  if (d.features.smm && d.features.smm->enabled) {
    m += ",smm=" + on_off(*d.features.smm->enabled);
  }
  if (d.features.acpi && d.features.acpi->enabled == false) {
    m += ",acpi=off";
  }
  if (d.clock.hpet && d.clock.hpet->present) {
    m += ",hpet=" + on_off(*d.clock.hpet->present);
  }
  if (efi_) {
    m += ",pflash0=pflash0,pflash1=pflash1";
  }
  if (d.memory.hugepages_page_size) {
    m += ",memory-backend=pc.ram";
  }
  if (d.launch_security.kind != policy::LaunchSecurityKind::none) {
    m += ",confidential-guest-support=lsec0";
  }
  if (d.launch_security.kind == policy::LaunchSecurityKind::tdx) {
    // A TD's interrupt controller lives in QEMU's split irqchip; KVM refuses a full one.
    m += ",kernel-irqchip=split";
  }
  out.argv.add("-machine", m);
  out.argv.add("-accel", kvm_ ? "kvm" : "tcg");
}

}  // namespace qmd::cmdline
