#include "cmdline/render.hpp"

#include <memory>

#include "cmdline/core_configurators.hpp"
#include "cmdline/device_configurators.hpp"
#include "cmdline/panic.hpp"
#include "cmdline/provisioning.hpp"
#include "policy/panic_device.hpp"

namespace qmd::cmdline {

namespace {

bool is_q35(const policy::VmSpec& spec) {
  const auto type = spec.domain.machine.type.value_or("q35");
  return type.starts_with("q35") || type.starts_with("pc-q35");
}

std::vector<std::unique_ptr<Configurator>> configurators(const policy::VmSpec& spec,
                                                         const policy::HostCaps& host,
                                                         const VmPaths& paths,
                                                         const policy::RunPolicy& policy,
                                                         const policy::HostCheck& check,
                                                         const policy::OvmfImage& ovmf) {
  const bool kvm = !policy.use_emulation;
  const bool efi = spec.domain.firmware.bootloader == policy::BootloaderKind::efi;
  std::vector<std::unique_ptr<Configurator>> list;
  list.push_back(std::make_unique<BaseConfigurator>(paths));
  list.push_back(std::make_unique<MachineConfigurator>(kvm, efi));
  const bool hyperv_probed = kvm ? host.hyperv_probed : host.hyperv_tcg_probed;
  const auto* verdicts = hyperv_probed ? (kvm ? &host.hyperv : &host.hyperv_tcg) : nullptr;
  const bool hv_crash = policy::panic_notifier(spec, verdicts) == policy::PanicNotifier::hv_crash;
  list.push_back(std::make_unique<CpuConfigurator>(kvm, check.dropped_hyperv, host.tsc_khz,
                                                   check.dropped_cpu_flags, hv_crash));
  list.push_back(std::make_unique<SmpConfigurator>());
  list.push_back(std::make_unique<MemoryConfigurator>());
  list.push_back(std::make_unique<FirmwareConfigurator>(ovmf, paths));
  list.push_back(std::make_unique<SmbiosConfigurator>());
  list.push_back(std::make_unique<ClockConfigurator>(kvm));
  list.push_back(std::make_unique<LaunchSecurityConfigurator>(host.sev_cbitpos));
  list.push_back(std::make_unique<IgnitionConfigurator>(paths));

  DeviceFacts facts;
  facts.q35 = is_q35(spec);
  facts.vhost_net = host.vhost_net;
  facts.masquerade_nat = policy.masquerade_nat;
  facts.kvm = kvm;
  facts.vcpus = boot_vcpus(spec);
  facts.port_forwards = policy.port_forwards;
  facts.passt_for_masquerade = policy.passt_for_masquerade;
  if (!host.swtpm.path.empty()) {
    facts.swtpm = host.swtpm.path;
  }
  if (!host.swtpm.setup_path.empty()) {
    facts.swtpm_setup = host.swtpm.setup_path;
  }
  for (auto& c : device_configurators(facts, paths)) {
    list.push_back(std::move(c));
  }
  list.push_back(std::make_unique<PanicDeviceConfigurator>(!hv_crash));
  return list;
}

}  // namespace

std::expected<RenderResult, policy::SpecErrors> render(const policy::VmSpec& input,
                                                       const policy::HostCaps& host,
                                                       const VmPaths& paths,
                                                       const policy::RunPolicy& policy) {
  const policy::VmSpec spec = policy::apply_defaults(input);
  policy::SpecErrors errors = policy::validate_spec(spec, policy);
  policy::HostCheck check = policy::check_host(spec, host, policy);
  errors.insert(errors.end(), check.errors.begin(), check.errors.end());

  policy::OvmfImage ovmf;
  if (spec.domain.firmware.bootloader == policy::BootloaderKind::efi) {
    // Secure boot is on unless the spec turns it off, as check_host assumes.
    const bool secure = spec.domain.firmware.efi.secure_boot.value_or(true);
    if (const auto* img = policy::select_ovmf(host, secure)) {
      ovmf = *img;
    } else if (check.errors.empty()) {
      // check_host reports a missing image itself; this only guards the invariant.
      errors.push_back(spec.source.error_at(
          "domain.firmware.bootloader.efi",
          "no OVMF image on this host matches (install the ovmf package)"));
    }
  }
  if (!errors.empty()) {
    return std::unexpected(std::move(errors));
  }

  RenderResult out;
  out.binary = host.qemu_binary;
  out.start_paused = spec.start_paused;  // QEMU starts with -S either way
  for (const auto& w : spec.warnings) {
    out.warnings.push_back(w.to_string());
  }
  out.warnings.insert(out.warnings.end(), check.warnings.begin(), check.warnings.end());
  for (const auto& c : configurators(spec, host, paths, policy, check, ovmf)) {
    c->configure(spec, out);
  }
  return out;
}

}  // namespace qmd::cmdline
