#pragma once
// The device half of the command line: one configurator per device concern, all reading the
// same DeviceLayout (PCI placement, controllers, iothreads) so addresses stay consistent.
// The render orchestrator runs device_configurators() after the core configurators.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cmdline/configurator.hpp"
#include "cmdline/paths.hpp"

namespace qmd::cmdline {

// Host and machine facts the device fragments depend on, resolved by the orchestrator.
struct DeviceFacts {
  bool q35 = true;          // machine family: q35 (PCIe root ports) or pc (i440fx, pci.0)
  bool vhost_net = false;   // host has /dev/vhost-net: vhost=on on virtio tap netdevs
  bool kvm = true;          // accelerator; no device prop depends on it today
  std::uint32_t vcpus = 1;  // guest vCPUs: queues for multiqueue NICs and disks
  std::string swtpm = "/usr/bin/swtpm";
  std::string swtpm_setup = "/usr/bin/swtpm_setup";
  std::uint32_t hotplug_ports = 4;  // spare pcie-root-ports for hotplug (q35)
  // interfaces[].ports: the host ports the daemon chose (a forward missing here uses its own
  // number), and whether masquerade runs on passt (qmd cannot make taps: not root).
  std::vector<policy::PortForward> port_forwards;
  bool passt_for_masquerade = false;
  std::string passt = "/usr/bin/passt";
  bool masquerade_nat = false;      // masquerade: a tap on the managed NAT bridge, not slirp
  // No bridge map: a bridge binding renders a tap named devices::bridge_tap_name; the daemon
  // creates that tap and enslaves it to the bridge from its config.
};

// Base for the device configurators: they all need the facts and the VM's paths.
class DeviceConfigurator : public Configurator {
 public:
  DeviceConfigurator(DeviceFacts facts, VmPaths paths)
      : facts_(std::move(facts)), paths_(std::move(paths)) {}

 protected:
  DeviceFacts facts_;
  VmPaths paths_;
};

// pcie-root-ports (spare ones included), iothreads, usb / virtio-serial / scsi / sata.
class PciControllersConfigurator final : public DeviceConfigurator {
 public:
  using DeviceConfigurator::DeviceConfigurator;
  void configure(const policy::VmSpec& spec, RenderResult& out) const override;
};

// -blockdev nodes + disk devices; DiskOrCreate / emptyDisk images to prepare.
class DisksConfigurator final : public DeviceConfigurator {
 public:
  using DeviceConfigurator::DeviceConfigurator;
  void configure(const policy::VmSpec& spec, RenderResult& out) const override;
};

// -netdev + NIC devices (a default slirp NIC when KubeVirt would add the pod interface).
class NicsConfigurator final : public DeviceConfigurator {
 public:
  using DeviceConfigurator::DeviceConfigurator;
  void configure(const policy::VmSpec& spec, RenderResult& out) const override;
};

// tablets and keyboards.
class InputsConfigurator final : public DeviceConfigurator {
 public:
  using DeviceConfigurator::DeviceConfigurator;
  void configure(const policy::VmSpec& spec, RenderResult& out) const override;
};

// the serial console (autoattachSerialConsole) and the guest agent channel (always).
class ConsoleConfigurator final : public DeviceConfigurator {
 public:
  using DeviceConfigurator::DeviceConfigurator;
  void configure(const policy::VmSpec& spec, RenderResult& out) const override;
};

// VGA + VNC on a Unix socket (autoattachGraphicsDevice).
class GraphicsConfigurator final : public DeviceConfigurator {
 public:
  using DeviceConfigurator::DeviceConfigurator;
  void configure(const policy::VmSpec& spec, RenderResult& out) const override;
};

// balloon (autoattachMemBalloon), virtio-rng, watchdog.
class MiscDevicesConfigurator final : public DeviceConfigurator {
 public:
  using DeviceConfigurator::DeviceConfigurator;
  void configure(const policy::VmSpec& spec, RenderResult& out) const override;
};

// swtpm sidecars, state dir, -chardev/-tpmdev/-device.
class TpmConfigurator final : public DeviceConfigurator {
 public:
  using DeviceConfigurator::DeviceConfigurator;
  void configure(const policy::VmSpec& spec, RenderResult& out) const override;
};

// virtio-mem up to memory.maxGuest.
class VirtioMemConfigurator final : public DeviceConfigurator {
 public:
  using DeviceConfigurator::DeviceConfigurator;
  void configure(const policy::VmSpec& spec, RenderResult& out) const override;
};

// In argv order.
std::vector<std::unique_ptr<Configurator>> device_configurators(const DeviceFacts& facts,
                                                                const VmPaths& paths);

}  // namespace qmd::cmdline
