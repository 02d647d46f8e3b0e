#include "cmdline/devices_layout.hpp"

#include "devices/naming.hpp"

namespace qmd::cmdline {



std::string input_bus(const policy::InputDevice& input) { return input.bus.value_or("usb"); }

std::string nic_model(const policy::InterfaceDevice& iface) {
  return iface.model.value_or("virtio");
}

std::vector<policy::InterfaceDevice> interfaces_to_render(const policy::VmSpec& spec) {
  const auto& devs = spec.domain.devices;
  if (!devs.interfaces.empty() || !spec.networks.empty() ||
      !devs.autoattach_pod_interface.value_or(true)) {
    return devs.interfaces;
  }
  policy::InterfaceDevice pod;
  pod.name = "default";
  pod.binding = "masquerade";
  return {pod};
}

std::vector<policy::InputDevice> inputs_to_render(const policy::VmSpec& spec) {
  const auto& devs = spec.domain.devices;
  if (!devs.inputs.empty() || !devs.autoattach_input_device.value_or(false)) {
    return devs.inputs;
  }
  return {{"default-0", "tablet", "usb"}};
}

bool wants_balloon(const policy::VmSpec& spec) {
  return spec.domain.devices.autoattach_mem_balloon.value_or(true);
}

bool wants_virtio_mem(const policy::VmSpec& spec) {
  const auto& mem = spec.domain.memory;
  return mem.max_guest && *mem.max_guest > mem.guest.value_or(0);
}

DeviceLayout layout_devices(const policy::VmSpec& spec, const DeviceFacts& facts) {
  const auto& devs = spec.domain.devices;
  DeviceLayout l(facts.q35);
  const auto inputs = inputs_to_render(spec);

  bool any_usb = false, any_scsi = false, any_sata = false;
  for (const auto& d : devs.disks) {
    const auto bus = disk_bus(d);
    any_usb |= bus == "usb";
    any_scsi |= bus == "scsi";
    any_sata |= bus == "sata";
  }
  for (const auto& i : inputs) {
    any_usb |= input_bus(i) == "usb";
  }

  // Controllers first, then NICs, disks, the singletons, virtio inputs, virtio-mem, spares.
  if (any_usb) {
    l.usb = l.pci.allocate();
  }
  l.virtio_serial = l.pci.allocate();
  if (any_scsi) {
    l.scsi = l.pci.allocate();
  }
  if (any_sata && !facts.q35) {
    l.sata = l.pci.allocate();
  }
  for (const auto& iface : interfaces_to_render(spec)) {
    l.nics.emplace(iface.name, l.pci.allocate());
  }

  const bool auto_policy = spec.domain.io_threads_policy.value_or("shared") == "auto";
  bool shared_needed = any_scsi;
  std::uint32_t sata_units = 0, scsi_units = 0;
  std::vector<std::string> own_iothreads;
  for (const auto& d : devs.disks) {
    const auto bus = disk_bus(d);
    if (bus == "virtio") {
      l.disks.emplace(d.name, l.pci.allocate());
      if (auto_policy || d.dedicated_io_thread.value_or(false)) {
        own_iothreads.push_back(devices::iothread_id(d.name));
        l.disk_iothread.emplace(d.name, devices::iothread_id(d.name));
      } else {
        shared_needed = true;
        l.disk_iothread.emplace(d.name, devices::shared_iothread_id);
      }
    } else if (bus == "sata") {
      l.disk_units.emplace(d.name, sata_units++);
    } else if (bus == "scsi") {
      l.disk_units.emplace(d.name, scsi_units++);
    }
  }
  if (shared_needed) {
    l.iothreads.push_back(devices::shared_iothread_id);
  }
  l.iothreads.insert(l.iothreads.end(), own_iothreads.begin(), own_iothreads.end());
  if (any_scsi) {
    l.scsi_iothread = devices::shared_iothread_id;
  }

  if (wants_balloon(spec)) {
    l.balloon = l.pci.allocate();
  }
  if (devs.rng.value_or(false)) {
    l.rng = l.pci.allocate();
  }
  if (devs.watchdog) {
    l.watchdog = l.pci.allocate();
  }
  for (const auto& i : inputs) {
    if (input_bus(i) == "virtio") {
      l.inputs.emplace(i.name, l.pci.allocate());
    }
  }
  if (wants_virtio_mem(spec)) {
    l.virtio_mem = l.pci.allocate();
  }
  l.spare = l.pci.add_spare(facts.hotplug_ports);
  return l;
}

}  // namespace qmd::cmdline
