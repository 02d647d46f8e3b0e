#pragma once
// A QEMU device, object or netdev as data: its type and an ordered property list. The
// coldplug option (`-device type,k=v,...`) and the hotplug QMP call (`device_add`
// {"driver": type, "k": v}) are both built from the same Component, so they cannot drift.
#include <boost/json/object.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "devices/fragment.hpp"
#include "devices/qmp_call.hpp"

namespace qmd::devices {

// Strings stay strings (hex addresses too); numbers and booleans are typed so that strict
// QAPI commands (netdev_add, object-add) get the JSON types they want. Keyval prints bools
// as on/off.
using PropValue = std::variant<std::string, std::int64_t, bool>;

struct Prop {
  std::string key;
  PropValue value;
  bool operator==(const Prop&) const = default;
};

using Props = std::vector<Prop>;

struct Component {
  std::string type;  // driver (device), qom-type (object) or netdev type
  Props props;       // "id" first by convention
  bool operator==(const Component&) const = default;

  std::optional<std::string> prop(const std::string& key) const;  // as keyval text
  std::string id() const { return prop("id").value_or(""); }
};

// A QEMU option value with each literal comma doubled, as keyval parsing wants.
std::string qemu_escape(const std::string& value);
// "type,k=v,..." with commas inside values doubled.
std::string keyval(const Component& c);
// The props as a JSON object (no type key).
boost::json::object props_json(const Props& props);

Option device_option(const Component& device);  // -device
Option object_option(const Component& object);  // -object
Option netdev_option(const Component& netdev);  // -netdev
// -blockdev and other options that take QEMU's JSON syntax (no comma escaping in paths).
Option json_option(const std::string& flag, const boost::json::object& value);

QmpCall device_add(const Component& device);
QmpCall object_add(const Component& object);
QmpCall netdev_add(const Component& netdev);
QmpCall device_del(const std::string& id);
QmpCall object_del(const std::string& id);
QmpCall netdev_del(const std::string& id);

// "type,k=v,k2=v2" -> {"": type, "k": "v", ...}, undoing comma doubling. For tests that
// compare a coldplug option with its hotplug call.
std::map<std::string, std::string> parse_keyval(const std::string& text);
// A device_add/netdev_add/object-add argument object as keyval text values, with the type
// key (driver/type/qom-type) stored under "". The inverse view of parse_keyval.
std::map<std::string, std::string> flatten_arguments(const boost::json::object& args,
                                                     const std::string& type_key);

}  // namespace qmd::devices
