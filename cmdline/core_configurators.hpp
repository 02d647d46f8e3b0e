#pragma once
// The configurators for everything that is not a device: one class per concern, each built
// from already-resolved facts (KubeVirt's converter pattern). render.cpp orders them.
#include <cstdint>
#include <string>
#include <vector>

#include "cmdline/configurator.hpp"
#include "cmdline/paths.hpp"
#include "policy/host_caps.hpp"

namespace qmd::cmdline {

// -name, -uuid, -S, -nodefaults, -no-user-config, -msg, -sandbox, the QMP monitor, -display.
class BaseConfigurator final : public Configurator {
 public:
  explicit BaseConfigurator(VmPaths paths) : paths_(std::move(paths)) {}
  void configure(const policy::VmSpec& spec, RenderResult& out) const override;

 private:
  VmPaths paths_;
};

// -machine TYPE,... and -accel.
class MachineConfigurator final : public Configurator {
 public:
  MachineConfigurator(bool kvm, bool efi) : kvm_(kvm), efi_(efi) {}
  void configure(const policy::VmSpec& spec, RenderResult& out) const override;

 private:
  bool kvm_;
  bool efi_;  // pflash0/pflash1 machine properties
};

// -cpu MODEL[,kvm=off][,kvm-pv-unhalt=on|off][,hv-*...][,+flag|-flag...][,tsc-frequency=HZ]:
// `dropped` are Hyper-V features (QEMU names) left out under the bestEffort policy;
// `tsc_khz` is the host's TSC frequency (0: unknown), pinned under KVM for guests that read
// it once so that they can migrate; `dropped_cpu_flags` are optional cpu.features the host
// lacks.
class CpuConfigurator final : public Configurator {
 public:
  // `hv_crash`: the guest reports panics through the Hyper-V crash MSRs (policy's
  // panic_notifier decided it from the spec and the host's verdict).
  CpuConfigurator(bool kvm, std::vector<std::string> dropped, std::uint64_t tsc_khz = 0,
                  std::vector<std::string> dropped_cpu_flags = {}, bool hv_crash = false)
      : kvm_(kvm),
        dropped_(std::move(dropped)),
        tsc_khz_(tsc_khz),
        dropped_cpu_flags_(std::move(dropped_cpu_flags)),
        hv_crash_(hv_crash) {}
  void configure(const policy::VmSpec& spec, RenderResult& out) const override;

 private:
  bool kvm_;
  std::vector<std::string> dropped_;
  std::uint64_t tsc_khz_;
  std::vector<std::string> dropped_cpu_flags_;
  bool hv_crash_;
};

// -smp with topology and the vCPU hotplug ceiling; the pinning plan.
class SmpConfigurator final : public Configurator {
 public:
  void configure(const policy::VmSpec& spec, RenderResult& out) const override;
};

// -m (+ maxmem for virtio-mem) and the RAM backend for hugepages.
class MemoryConfigurator final : public Configurator {
 public:
  void configure(const policy::VmSpec& spec, RenderResult& out) const override;
};

// OVMF pflash (code read-only, per-VM VARS copy), secure boot; or direct kernel boot.
class FirmwareConfigurator final : public Configurator {
 public:
  FirmwareConfigurator(policy::OvmfImage image, VmPaths paths)
      : image_(std::move(image)), paths_(std::move(paths)) {}
  void configure(const policy::VmSpec& spec, RenderResult& out) const override;

 private:
  policy::OvmfImage image_;  // ignored for BIOS guests
  VmPaths paths_;
};

// SMBIOS type 1 (system) and type 3 (chassis).
class SmbiosConfigurator final : public Configurator {
 public:
  void configure(const policy::VmSpec& spec, RenderResult& out) const override;
};

// -rtc, PIT tick policy, guest time zone / offset.
class ClockConfigurator final : public Configurator {
 public:
  explicit ClockConfigurator(bool kvm) : kvm_(kvm) {}
  void configure(const policy::VmSpec& spec, RenderResult& out) const override;

 private:
  bool kvm_;  // the PIT tick policy is a property of the in-kernel PIT only
};

// POSIX TZ value that makes localtime run `offset_seconds` ahead of UTC ("QMD-01:00:00").
std::string tz_for_offset(std::int64_t offset_seconds);

// SEV / SEV-SNP / TDX guest objects.
class LaunchSecurityConfigurator final : public Configurator {
 public:
  explicit LaunchSecurityConfigurator(std::uint32_t sev_cbitpos) : sev_cbitpos_(sev_cbitpos) {}
  void configure(const policy::VmSpec& spec, RenderResult& out) const override;

 private:
  std::uint32_t sev_cbitpos_;
};

// The Hyper-V part of -cpu, in QEMU's dependency order, without dropped features.
std::vector<std::string> hyperv_cpu_flags(const policy::VmSpec& spec,
                                          const std::vector<std::string>& dropped);

// Total vCPUs at boot, and the hotplug ceiling.
std::uint32_t boot_vcpus(const policy::VmSpec& spec);
std::uint32_t max_vcpus(const policy::VmSpec& spec);

// "8192M"-style size for QEMU options, exact in MiB when possible.
std::string qemu_size(std::uint64_t bytes);

}  // namespace qmd::cmdline
