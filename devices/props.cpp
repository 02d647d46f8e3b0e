#include "devices/props.hpp"

#include <fmt/format.h>

#include <boost/json/serialize.hpp>

namespace qmd::devices {

std::string qemu_escape(const std::string& value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    out += c;
    if (c == ',') {
      out += ',';
    }
  }
  return out;
}

namespace {

std::string text(const PropValue& v) {
  if (const auto* s = std::get_if<std::string>(&v)) {
    return *s;
  }
  if (const auto* i = std::get_if<std::int64_t>(&v)) {
    return std::to_string(*i);
  }
  return std::get<bool>(v) ? "on" : "off";
}

QmpCall add_call(const std::string& execute, const std::string& type_key, const Component& c) {
  boost::json::object args;
  args[type_key] = c.type;
  for (const auto& [key, value] : props_json(c.props)) {
    args[key] = value;
  }
  return {execute, std::move(args)};
}

QmpCall id_call(const std::string& execute, const std::string& id) {
  boost::json::object args;
  args["id"] = id;
  return {execute, std::move(args)};
}

}  // namespace

std::optional<std::string> Component::prop(const std::string& key) const {
  for (const auto& p : props) {
    if (p.key == key) {
      return text(p.value);
    }
  }
  return std::nullopt;
}

std::string keyval(const Component& c) {
  std::string out = qemu_escape(c.type);
  for (const auto& p : c.props) {
    out += fmt::format(",{}={}", p.key, qemu_escape(text(p.value)));
  }
  return out;
}

boost::json::object props_json(const Props& props) {
  boost::json::object out;
  for (const auto& p : props) {
    std::visit([&](const auto& v) { out[p.key] = v; }, p.value);
  }
  return out;
}

Option device_option(const Component& device) { return {"-device", keyval(device)}; }
Option object_option(const Component& object) { return {"-object", keyval(object)}; }
Option netdev_option(const Component& netdev) { return {"-netdev", keyval(netdev)}; }

Option json_option(const std::string& flag, const boost::json::object& value) {
  return {flag, boost::json::serialize(value)};
}

QmpCall device_add(const Component& device) { return add_call("device_add", "driver", device); }
QmpCall object_add(const Component& object) { return add_call("object-add", "qom-type", object); }
QmpCall netdev_add(const Component& netdev) { return add_call("netdev_add", "type", netdev); }
QmpCall device_del(const std::string& id) { return id_call("device_del", id); }
QmpCall object_del(const std::string& id) { return id_call("object-del", id); }
QmpCall netdev_del(const std::string& id) { return id_call("netdev_del", id); }

std::map<std::string, std::string> parse_keyval(const std::string& text) {
  std::vector<std::string> parts{""};
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == ',' && i + 1 < text.size() && text[i + 1] == ',') {
      parts.back() += ',';
      ++i;
    } else if (text[i] == ',') {
      parts.emplace_back();
    } else {
      parts.back() += text[i];
    }
  }
  std::map<std::string, std::string> out;
  out[""] = parts.front();
  for (std::size_t i = 1; i < parts.size(); ++i) {
    const auto eq = parts[i].find('=');
    out[parts[i].substr(0, eq)] = eq == std::string::npos ? "" : parts[i].substr(eq + 1);
  }
  return out;
}

std::map<std::string, std::string> flatten_arguments(const boost::json::object& args,
                                                     const std::string& type_key) {
  std::map<std::string, std::string> out;
  for (const auto& [key, value] : args) {
    const std::string k = key == type_key ? "" : std::string(key);
    if (value.is_string()) {
      out[k] = std::string(value.get_string());
    } else if (value.is_bool()) {
      out[k] = value.get_bool() ? "on" : "off";
    } else if (value.is_int64()) {
      out[k] = std::to_string(value.get_int64());
    } else {
      out[k] = boost::json::serialize(value);
    }
  }
  return out;
}

}  // namespace qmd::devices
