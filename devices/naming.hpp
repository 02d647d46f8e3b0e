#pragma once
// QEMU ids and host names qmd gives devices. Stable ids are the contract between the argv
// and hotplug/unplug over QMP, so they are derived from spec names only.
//
// QEMU ids match [A-Za-z][A-Za-z0-9._-]*; block node-names must stay within 31 chars, and
// validation caps spec names at 24, so "file-"/"disk-" prefixes always fit.
//
//   disk X          block nodes file-X (protocol), fmt-X (format); device disk-X; an
//                   overlay's base file-X.b, fmt-X.b
//   iothreads       iothread-X (auto / dedicatedIOThread), iothread-shared (everyone else)
//   interface X     netdev net-X, device nic-X; bridge taps tap-<8 hex> (made by the daemon)
//   input X         input-X
//   PCI (q35)       pcie-root-port pci.N on pcie.0, one per device, device at addr 0x0
//   PCI (pc)        devices straight on pci.0
//   controllers     usb (qemu-xhci), virtio-serial0, scsi0 (virtio-scsi-pci), sata0 (ahci,
//                   pc only; q35 has the built-in ich9-ahci bus "ide", ide.0..ide.5)
//   singletons      balloon0, rng0 (+ objrng0), watchdog0, serial0 (+ charserial0),
//                   channel0 (+ charchannel0, the guest agent), tpm0 (+ chrtpm, tpm-device0),
//                   video0, vmem0 (+ memvmem0)
#include <cstdint>
#include <string>

namespace qmd::devices {

inline std::string file_node(const std::string& disk) { return "file-" + disk; }
inline std::string format_node(const std::string& disk) { return "fmt-" + disk; }
// An overlay's read-only base (containerDisk, ephemeral): file-X.b, fmt-X.b ('.' is in no
// spec name, so no disk's own nodes can be these).
inline std::string backing_name(const std::string& disk) { return disk + ".b"; }
inline std::string disk_id(const std::string& disk) { return "disk-" + disk; }
inline std::string iothread_id(const std::string& disk) { return "iothread-" + disk; }
inline const std::string shared_iothread_id = "iothread-shared";
inline std::string netdev_id(const std::string& iface) { return "net-" + iface; }
inline std::string nic_id(const std::string& iface) { return "nic-" + iface; }
inline std::string input_id(const std::string& input) { return "input-" + input; }

// FNV-1a 64: stable across builds and hosts (std::hash is not).
std::uint64_t stable_hash(const std::string& text);

// A locally administered-looking MAC in QEMU's 52:54:00 range from VM + interface name, so
// a VM keeps its MAC across restarts without storing one.
std::string stable_mac(const std::string& vm, const std::string& iface);

// Host tap name for a bridge binding: "tap-" + 8 hex digits (fits IFNAMSIZ). The daemon
// creates this tap, enslaves it to the bridge and hands it to QEMU.
std::string bridge_tap_name(const std::string& vm, const std::string& iface);

}  // namespace qmd::devices
