#include "daemon/runtime/hot_nic_record.hpp"

#include <fmt/format.h>

#include <boost/json/object.hpp>
#include <expected>
#include <regex>
#include <set>

#include "devices/naming.hpp"

namespace qmd::daemon {

namespace json = boost::json;

namespace {

// As validation caps spec names (hotplug::valid_name): QEMU's ids nic-NAME and net-NAME.
bool interface_name(const std::string& s) {
  static const std::regex kName("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
  return s.size() <= 24 && std::regex_match(s, kName);
}

bool mac_address(const std::string& s) {
  static const std::regex kMac("[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}");
  return std::regex_match(s, kMac);
}

// A Linux interface name (IFNAMSIZ - 1), in the characters a tap binding may name.
bool tap_name(const std::string& s) {
  static const std::regex kTap("[A-Za-z0-9_.-]{1,15}");
  return std::regex_match(s, kTap) && s != "." && s != "..";
}

// A qmd.yaml bridges key: printable, no blanks, no more than a DNS name.
bool network_name(const std::string& s) {
  static const std::regex kNetwork("[!-~]{1,253}");
  return std::regex_match(s, kNetwork);
}

// A value read back, as a message may show it: at most 40 characters, none unprintable.
std::string shown(const std::string& s) {
  std::string out = s.substr(0, 40);
  for (auto& c : out) {
    if (c < ' ' || c > '~') {
      c = '?';
    }
  }
  return out;
}

// The entry's fields, or why it is not one. Unknown keys are left for a later qmd.
std::expected<HotNic, std::string> read_entry(const json::value& item) {
  const auto* o = item.if_object();
  if (o == nullptr) {
    return std::unexpected("not an object");
  }
  std::string bad_type;
  auto text = [&](const char* key) {
    const auto* v = o->if_contains(key);
    if (v != nullptr && !v->is_string() && bad_type.empty()) {
      bad_type = key;
    }
    return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
  };
  HotNic nic{text("name"), text("binding"), text("network"), text("tap"), text("mac")};
  const std::string device = text("deviceId");
  const std::string netdev = text("netdevId");
  if (!bad_type.empty()) {
    return std::unexpected(fmt::format("{} is not a string", bad_type));
  }
  if (!interface_name(nic.name)) {
    return std::unexpected(fmt::format("name \"{}\" is not an interface name", shown(nic.name)));
  }
  if (nic.binding != "user" && nic.binding != "tap" && nic.binding != "bridge" &&
      nic.binding != "masquerade") {
    return std::unexpected(
        fmt::format("binding \"{}\" is not one hotplug makes", shown(nic.binding)));
  }
  if (!mac_address(nic.mac)) {
    return std::unexpected(fmt::format("mac \"{}\" is not a MAC address", shown(nic.mac)));
  }
  const bool needs_tap = nic.binding != "user";
  if (needs_tap ? !tap_name(nic.tap) : !nic.tap.empty()) {
    return std::unexpected(
        fmt::format("tap \"{}\" does not fit binding {}", shown(nic.tap), nic.binding));
  }
  if (nic.binding == "bridge" && !network_name(nic.network)) {
    return std::unexpected(fmt::format("network \"{}\" is not a network name", shown(nic.network)));
  }
  if ((!device.empty() && device != nic.device_id()) ||
      (!netdev.empty() && netdev != nic.netdev_id())) {
    return std::unexpected(fmt::format("QEMU ids \"{}\", \"{}\" are not interface {}'s",
                                       shown(device), shown(netdev), nic.name));
  }
  return nic;
}

}  // namespace

std::string HotNic::device_id() const { return devices::nic_id(name); }
std::string HotNic::netdev_id() const { return devices::netdev_id(name); }

json::array hot_nics_to_json(const std::vector<HotNic>& nics) {
  json::array out;
  for (const auto& nic : nics) {
    json::object o{{"name", nic.name},
                   {"binding", nic.binding},
                   {"mac", nic.mac},
                   {"deviceId", nic.device_id()},
                   {"netdevId", nic.netdev_id()}};
    if (!nic.tap.empty()) {
      o["tap"] = nic.tap;
    }
    if (!nic.network.empty()) {
      o["network"] = nic.network;
    }
    out.push_back(std::move(o));
  }
  return out;
}

HotNicsRead hot_nics_from_json(const json::value* value) {
  HotNicsRead read;
  if (value == nullptr || value->is_null()) {
    return read;
  }
  if (!value->is_array()) {
    read.dropped.push_back("hotNics is not a list; ignored");
    return read;
  }
  std::set<std::string> names;
  const auto& list = value->as_array();
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (read.nics.size() == kMaxHotNics) {
      read.dropped.push_back(
          fmt::format("hotNics[{}] and the {} after it: more than {} "
                      "entries; ignored",
                      i, list.size() - i - 1, kMaxHotNics));
      break;
    }
    auto nic = read_entry(list[i]);
    if (!nic) {
      read.dropped.push_back(fmt::format("hotNics[{}]: {}; ignored", i, nic.error()));
    } else if (!names.insert(nic->name).second) {
      read.dropped.push_back(
          fmt::format("hotNics[{}]: interface {} is listed twice; ignored", i, nic->name));
    } else {
      read.nics.push_back(std::move(*nic));
    }
  }
  return read;
}

std::optional<std::string> hot_nic_mismatch(const HotNic& nic, const std::string& vm) {
  if (nic.qmd_tap() && nic.tap != devices::bridge_tap_name(vm, nic.name)) {
    return fmt::format("interface {}: tap {} is not the one qmd makes for it ({})", nic.name,
                       nic.tap, devices::bridge_tap_name(vm, nic.name));
  }
  return std::nullopt;
}

}  // namespace qmd::daemon
