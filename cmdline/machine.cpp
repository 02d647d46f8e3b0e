#include <fmt/format.h>

#include "cmdline/core_configurators.hpp"

namespace qmd::cmdline {

namespace {
std::string on_off(bool b) { return b ? "on" : "off"; }

bool disables_pci_hole64(const policy::VmSpec& spec) {
  const auto it = spec.annotations.find("kubevirt.io/disablePCIHole64");
  return it != spec.annotations.end() && it->second == "true";  // KubeVirt's test, exactly
}
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
  if (disables_pci_hole64(spec)) {
    // As KubeVirt (libvirt's pcihole64 0): no 64-bit PCI window in QEMU's ACPI tables, and
    // SeaBIOS told not to place BARs above 4 GiB, which guests like Windows XP cannot reach.
    const bool i440fx = m.starts_with("pc,") || m.starts_with("pc-i440fx");
    out.argv.add("-global",
                 fmt::format("{}.pci-hole64-size=0", i440fx ? "i440FX-pcihost" : "q35-pcihost"));
    out.argv.add("-fw_cfg", "name=opt/org.seabios/pci64,string=no");
  }
}

}  // namespace qmd::cmdline
