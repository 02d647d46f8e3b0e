#include "daemon/api/guest_json.hpp"

#include <fmt/format.h>

#include <boost/json/array.hpp>
#include <string_view>

namespace qmd::daemon::api {

namespace json = boost::json;

namespace {

// `bytes` with every byte that is not part of a well-formed UTF-8 sequence replaced by '?';
// `clean` tells whether there was none. JSON strings must be UTF-8, and guest output need not.
std::string utf8_text(std::string_view bytes, bool& clean) {
  std::string out;
  out.reserve(bytes.size());
  clean = true;
  std::size_t i = 0;
  while (i < bytes.size()) {
    const auto lead = static_cast<unsigned char>(bytes[i]);
    const std::size_t length = lead < 0x80                   ? 1
                               : lead >= 0xC2 && lead < 0xE0 ? 2
                               : lead >= 0xE0 && lead < 0xF0 ? 3
                               : lead >= 0xF0 && lead < 0xF5 ? 4
                                                             : 0;
    bool ok = length != 0 && i + length <= bytes.size();
    for (std::size_t k = 1; ok && k < length; ++k) {
      ok = (static_cast<unsigned char>(bytes[i + k]) & 0xC0) == 0x80;
    }
    if (!ok) {
      out.push_back('?');
      clean = false;
      ++i;
      continue;
    }
    out.append(bytes.substr(i, length));
    i += length;
  }
  return out;
}

// Output as text; when it is not UTF-8, also the exact bytes as KEYBase64.
void put_output(json::object& out, const std::string& key, const std::string& bytes) {
  bool clean = true;
  out[key] = utf8_text(bytes, clean);
  if (!clean) {
    out[key + "Base64"] = qmp::encode_base64(bytes);
  }
}

json::value error_field(std::string message) {
  json::object out;
  out["error"] = std::move(message);
  return out;
}

json::object os_json(const qmp::GuestOsInfo& os) {
  json::object out;
  out["kernelRelease"] = os.kernel_release;
  out["kernelVersion"] = os.kernel_version;
  out["machine"] = os.machine;
  out["id"] = os.id;
  out["name"] = os.name;
  out["prettyName"] = os.pretty_name;
  out["version"] = os.version;
  out["versionId"] = os.version_id;
  return out;
}

json::object timezone_json(const qmp::GuestTimezone& zone) {
  json::object out;
  out["zone"] = zone.zone ? json::value(*zone.zone) : json::value(nullptr);
  out["offsetSeconds"] = zone.offset;
  return out;
}

json::array users_json(const std::vector<qmp::GuestUser>& users) {
  json::array out;
  for (const auto& user : users) {
    json::object entry;
    entry["user"] = user.user;
    if (user.domain) {
      entry["domain"] = *user.domain;
    }
    entry["loginTime"] = user.login_time;
    out.push_back(std::move(entry));
  }
  return out;
}

json::array filesystems_json(const std::vector<qmp::GuestFilesystem>& filesystems) {
  json::array out;
  for (const auto& fs : filesystems) {
    json::object entry;
    entry["name"] = fs.name;
    entry["mountpoint"] = fs.mountpoint;
    entry["type"] = fs.type;
    entry["usedBytes"] = fs.used_bytes ? json::value(*fs.used_bytes) : json::value(nullptr);
    entry["totalBytes"] = fs.total_bytes ? json::value(*fs.total_bytes) : json::value(nullptr);
    json::array disks;
    for (const auto& disk : fs.disks) {
      json::object d;
      d["dev"] = disk.dev ? json::value(*disk.dev) : json::value(nullptr);
      d["serial"] = disk.serial ? json::value(*disk.serial) : json::value(nullptr);
      d["busType"] = disk.bus_type;
      d["pciController"] = fmt::format("{:04x}:{:02x}:{:02x}.{:x}", disk.pci_controller.domain,
                                       disk.pci_controller.bus, disk.pci_controller.slot,
                                       disk.pci_controller.function);
      disks.push_back(std::move(d));
    }
    entry["disks"] = std::move(disks);
    out.push_back(std::move(entry));
  }
  return out;
}

json::array interfaces_json(const std::vector<qmp::GuestNetworkInterface>& interfaces) {
  json::array out;
  for (const auto& nic : interfaces) {
    json::object entry;
    entry["name"] = nic.name;
    entry["hardwareAddress"] = nic.hardware_address;
    json::array addresses;
    for (const auto& ip : nic.ip_addresses) {
      json::object a;
      a["type"] = ip.type == qmp::GuestIpAddress::Family::ipv4 ? "ipv4" : "ipv6";
      a["address"] = ip.address;
      a["prefix"] = ip.prefix;
      addresses.push_back(std::move(a));
    }
    entry["ipAddresses"] = std::move(addresses);
    out.push_back(std::move(entry));
  }
  return out;
}

template <typename T, typename ToJson>
json::value field_json(const AgentField<T>& field, const ToJson& to_json) {
  return field.value ? to_json(*field.value) : error_field(field.error);
}

}  // namespace

json::object to_json(const GuestReport& report) {
  json::object out;
  json::object agent;
  agent["version"] = report.agent.version;
  agent["supportedCommands"] =
      json::array(report.agent.enabled_commands.begin(), report.agent.enabled_commands.end());
  out["agent"] = std::move(agent);
  out["os"] = field_json(report.os, os_json);
  out["hostname"] = field_json(report.hostname, [](const std::string& v) { return json::value(v); });
  out["timezone"] = field_json(report.timezone, timezone_json);
  out["users"] = field_json(report.users, users_json);
  out["filesystems"] = field_json(report.filesystems, filesystems_json);
  out["interfaces"] = field_json(report.interfaces, interfaces_json);
  if (report.fsfreeze.value || !report.fsfreeze.error.empty()) {
    out["fsfreeze"] = field_json(report.fsfreeze, [](qmp::FsFreezeStatus s) {
      return json::value(s == qmp::FsFreezeStatus::frozen ? "frozen" : "thawed");
    });
  }
  return out;
}

json::object to_json(const qmp::GuestExecResult& result) {
  json::object out;
  out["exitCode"] = result.exit_code;
  if (result.signal) {
    out["signal"] = *result.signal;
  }
  put_output(out, "stdout", result.out);
  put_output(out, "stderr", result.err);
  out["truncated"] = result.truncated;
  return out;
}

}  // namespace qmd::daemon::api
