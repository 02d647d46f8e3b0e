#include "devices/cdrom.hpp"

#include "devices/naming.hpp"

namespace qmd::devices {

namespace {

QmpCall call(std::string name, boost::json::object args) { return {std::move(name), std::move(args)}; }

}  // namespace

MediumNodes next_medium_nodes(const std::string& disk, const std::string& current) {
  const std::string k = current == "cdm-" + disk + "-1" ? "2" : "1";
  return {"cdf-" + disk + "-" + k, "cdm-" + disk + "-" + k};
}

std::string medium_file_node(const std::string& format_node) {
  if (format_node.starts_with("cdm-")) {
    return "cdf-" + format_node.substr(4);
  }
  if (format_node.starts_with("fmt-")) {
    return "file-" + format_node.substr(4);
  }
  return {};
}

std::vector<QmpCall> medium_add(const MediumNodes& nodes, const std::string& filename,
                                const std::string& format) {
  boost::json::object file{{"driver", "file"},       {"filename", filename},
                           {"node-name", nodes.file}, {"read-only", true},
                           {"auto-read-only", false}};
  boost::json::object fmt{{"driver", format},
                          {"file", nodes.file},
                          {"node-name", nodes.format},
                          {"read-only", true}};
  if (format == "qcow2") {
    fmt["backing"] = nullptr;  // a header's backing file is a path no root check saw
  }
  return {call("blockdev-add", std::move(file)), call("blockdev-add", std::move(fmt))};
}

std::vector<QmpCall> medium_swap(const std::string& disk, const std::string& format_node) {
  const std::string id = disk_id(disk);
  std::vector<QmpCall> calls{call("blockdev-open-tray", {{"id", id}, {"force", true}}),
                             call("blockdev-remove-medium", {{"id", id}})};
  if (!format_node.empty()) {
    calls.push_back(call("blockdev-insert-medium", {{"id", id}, {"node-name", format_node}}));
  }
  calls.push_back(call("blockdev-close-tray", {{"id", id}}));
  return calls;
}

std::vector<QmpCall> medium_del(const std::string& format_node) {
  std::vector<QmpCall> calls{call("blockdev-del", {{"node-name", format_node}})};
  if (const auto file = medium_file_node(format_node); !file.empty()) {
    calls.push_back(call("blockdev-del", {{"node-name", file}}));
  }
  return calls;
}

}  // namespace qmd::devices
