// domain.devices: disks, interfaces, inputs, watchdog, TPM, RNG and the device switches.
#include <array>

#include "policy/parse_parts.hpp"

namespace qmd::policy::parse_parts {

namespace {

using yaml::MapReader;

void read_disk(MapReader& disk, DiskDevice& out) {
  disk.require("name");
  disk.read("name", out.name);
  // KubeVirt's own default: a disk that names no target is a `disk`.
  constexpr std::array<DiskKind, 3> kKinds{DiskKind::disk, DiskKind::cdrom, DiskKind::lun};
  constexpr std::array<std::string_view, 3> kKeys{"disk", "cdrom", "lun"};
  if (auto which = disk.one_of({"disk", "cdrom", "lun"}, false)) {
    out.kind = kKinds[*which];
    disk.read_map(kKeys[*which], [&](MapReader& target) {
      target.read("bus", out.bus);
      target.read("readonly", out.readonly);
      target.read("rotationRate", out.rotation_rate);
      if (out.kind == DiskKind::disk) {
        target.read("pciAddress", out.pci_address);  // where KubeVirt puts it
      }
    });
  }
  disk.read("bootOrder", out.boot_order);
  disk.read("serial", out.serial);
  disk.read("cache", out.cache);
  disk.read("io", out.io);
  disk.read("dedicatedIOThread", out.dedicated_io_thread);
  if (out.pci_address && disk.has("pciAddress")) {
    disk.error_at("pciAddress", "pciAddress is also set under disk: keep one of them");
  } else {
    disk.read("pciAddress", out.pci_address);
  }
}

// KubeVirt's Port; the values are checked by validation (validate_networks.cpp).
void read_port(MapReader& port, InterfacePort& out) {
  port.read("name", out.name);
  port.require("port");
  std::optional<std::uint32_t> number;
  port.read("port", number);
  out.port = number.value_or(0);
  port.read("protocol", out.protocol);
}

void read_interface(MapReader& iface, InterfaceDevice& out) {
  iface.require("name");
  iface.read("name", out.name);
  iface.read("model", out.model);
  iface.read("macAddress", out.mac_address);
  iface.read("bootOrder", out.boot_order);
  iface.read("pciAddress", out.pci_address);
  iface.read_list("ports", [&](MapReader& port, std::size_t) {
    read_port(port, out.ports.emplace_back());
  });
  if (iface.has("sriov")) {
    iface.reject("sriov",
                 "SR-IOV is not available on one host: qmd passes no virtual function to a "
                 "guest; use bridge with a host bridge");
    return;
  }
  if (iface.has("macvtap")) {
    iface.reject("macvtap",
                 "macvtap is not supported by qmd: use bridge with a host bridge (a multus "
                 "network named under bridges: in qmd.yaml)");
    return;
  }
  constexpr std::array<std::string_view, 6> kBindings{"masquerade", "user", "slirp", "passt",
                                                      "bridge",     "tap"};
  const auto which = iface.one_of({"masquerade", "user", "slirp", "passt", "bridge", "tap"});
  if (!which) {
    return;
  }
  const std::string_view key = kBindings[*which];
  out.binding = key == "slirp" ? "user" : std::string(key);  // slirp is user networking
  if (key == "tap") {
    iface.read_map(key, [&](MapReader& tap) { tap.read("name", out.tap_name); });
  } else {
    iface.read_marker(key);
  }
}

void read_input(MapReader& input, InputDevice& out) {
  input.require("name");
  input.read("name", out.name);
  input.require("type");
  input.read("type", out.type);
  input.read("bus", out.bus);
}

void read_watchdog(MapReader& watchdog, WatchdogDevice& out) {
  watchdog.require("name");
  watchdog.read("name", out.name);
  if (watchdog.one_of({"i6300esb"})) {
    watchdog.read_map("i6300esb", [&](MapReader& r) { r.read("action", out.action); });
  }
}

void read_tpm(MapReader& tpm, TpmDevice& out) {
  tpm.read("enabled", out.enabled);
  tpm.read("persistent", out.persistent);
}

}  // namespace

void read_devices(MapReader& devices, DevicesSpec& out) {
  devices.read_list("disks", [&](MapReader& r, std::size_t) {
    read_disk(r, out.disks.emplace_back());
  });
  devices.read_list("interfaces", [&](MapReader& r, std::size_t) {
    read_interface(r, out.interfaces.emplace_back());
  });
  devices.read_list("inputs", [&](MapReader& r, std::size_t) {
    read_input(r, out.inputs.emplace_back());
  });
  devices.read_map("watchdog", [&](MapReader& r) { read_watchdog(r, out.watchdog.emplace()); });
  devices.read_map("tpm", [&](MapReader& r) { read_tpm(r, out.tpm.emplace()); });
  if (devices.read_marker("rng")) {
    out.rng = true;
  }
  devices.read_map("video", [&](MapReader& video) {
    video.require("type");
    video.read("type", out.video_type);
  });
  devices.read("networkInterfaceMultiqueue", out.network_interface_multiqueue);
  devices.read("blockMultiQueue", out.block_multi_queue);
  devices.read("useVirtioTransitional", out.use_virtio_transitional);
  devices.read("autoattachSerialConsole", out.autoattach_serial_console);
  devices.read("autoattachGraphicsDevice", out.autoattach_graphics_device);
  devices.read("autoattachMemBalloon", out.autoattach_mem_balloon);
  devices.read("autoattachInputDevice", out.autoattach_input_device);
  devices.read("autoattachPodInterface", out.autoattach_pod_interface);
  devices.reject("sound", "sound devices are not supported by qmd; remove devices.sound");
  devices.reject("gpus",
                 "GPUs (by device plugin or DRA resource claim) are not available on one host: "
                 "qmd passes no host GPU or vGPU to a guest; remove devices.gpus");
  devices.reject("hostDevices",
                 "host devices (PCI or USB, by device plugin or DRA resource claim) are not "
                 "available on one host: qmd passes no host device to a guest; remove "
                 "devices.hostDevices");
}

}  // namespace qmd::policy::parse_parts
