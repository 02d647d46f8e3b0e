#pragma once
// A NIC attached at run time without --persist, as the VM's record.json keeps it while the
// run lasts ("hotNics"): a qmd restarted under the running VM takes it back from there (its
// tap, its guard and lease on the NAT network, its detach) and frees it when the run ends
// (vm_hot_nics.cpp). qmd writes the record, but what it reads back is checked like input:
// an entry that is not well formed is dropped with its reason, never acted on.
#include <boost/json/array.hpp>
#include <boost/json/value.hpp>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace qmd::daemon {

struct HotNic {
  std::string name;     // the interface's name
  std::string binding;  // user|tap|bridge|masquerade
  std::string network;  // bridge: the multus networkName qmd.yaml maps to a host bridge
  std::string tap;      // bridge, masquerade: the tap qmd made; tap: the host's own tap
  std::string mac;
  std::string device_id() const;  // QEMU's: nic-NAME
  std::string netdev_id() const;  // net-NAME
  // The tap is one qmd made for this NIC (and deletes when the NIC goes).
  bool qmd_tap() const { return binding == "bridge" || binding == "masquerade"; }
  bool operator==(const HotNic&) const = default;
};

// More than a VM can have hot-plugged (q35 renders 4 spare root ports, pc's bus 29 slots).
inline constexpr std::size_t kMaxHotNics = 32;

boost::json::array hot_nics_to_json(const std::vector<HotNic>& nics);

struct HotNicsRead {
  std::vector<HotNic> nics;
  std::vector<std::string> dropped;  // why each entry not taken was dropped
};
// The record's "hotNics" (null or absent: none). Each entry needs a valid interface name,
// binding, MAC and tap (its QEMU ids, when given, those of its name); duplicates and entries
// past kMaxHotNics are dropped too.
HotNicsRead hot_nics_from_json(const boost::json::value* value);

// Whether `nic` can be VM `vm`'s: a tap qmd made is the one devices::bridge_tap_name gives
// for the VM and interface, so a record never makes qmd delete another VM's tap or a host
// interface. The reason when not.
std::optional<std::string> hot_nic_mismatch(const HotNic& nic, const std::string& vm);

}  // namespace qmd::daemon
