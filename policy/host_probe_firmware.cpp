#include "policy/host_probe_firmware.hpp"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include <boost/json.hpp>

#include "policy/host_probe_process.hpp"

namespace qmd::policy {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

bool has_string(const json::value* array, std::string_view wanted) {
  if (array == nullptr || !array->is_array()) {
    return false;
  }
  return std::ranges::any_of(array->get_array(), [&](const json::value& v) {
    return v.is_string() && v.get_string() == wanted;
  });
}

std::string filename_of(const json::object& mapping, std::string_view key) {
  const auto* part = mapping.if_contains(key);
  if (part == nullptr || !part->is_object()) {
    return {};
  }
  const auto* name = part->get_object().if_contains("filename");
  return name != nullptr && name->is_string() ? std::string(name->get_string()) : std::string();
}

bool is_4m(const std::string& path) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  return ec ? path.find("_4M") != std::string::npos : size == 4U * 1024 * 1024;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

std::optional<OvmfImage> parse_firmware_descriptor(std::string_view text) {
  boost::system::error_code ec;
  const json::value doc = json::parse(text, ec);
  if (ec || !doc.is_object()) {
    return std::nullopt;
  }
  const auto& obj = doc.get_object();
  if (!has_string(obj.if_contains("interface-types"), "uefi")) {
    return std::nullopt;
  }
  const auto* mapping = obj.if_contains("mapping");
  if (mapping == nullptr || !mapping->is_object()) {
    return std::nullopt;
  }
  const auto* device = mapping->get_object().if_contains("device");
  if (device == nullptr || !device->is_string() || device->get_string() != "flash") {
    return std::nullopt;
  }
  bool x86_64 = false;
  if (const auto* targets = obj.if_contains("targets"); targets != nullptr && targets->is_array()) {
    for (const auto& t : targets->get_array()) {
      const auto* arch = t.is_object() ? t.get_object().if_contains("architecture") : nullptr;
      x86_64 = x86_64 || (arch != nullptr && arch->is_string() && arch->get_string() == "x86_64");
    }
  }
  OvmfImage image;
  image.code = filename_of(mapping->get_object(), "executable");
  image.vars = filename_of(mapping->get_object(), "nvram-template");
  if (!x86_64 || image.code.empty() || image.vars.empty()) {
    return std::nullopt;
  }
  const auto* features = obj.if_contains("features");
  image.secure_boot = has_string(features, "secure-boot") && has_string(features, "requires-smm");
  image.keys_enrolled = has_string(features, "enrolled-keys");
  image.size_4m = is_4m(image.code);
  return image;
}

std::vector<OvmfImage> find_ovmf(const std::string& descriptor_dir) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(descriptor_dir, ec)) {
    if (entry.path().extension() == ".json") {
      files.push_back(entry.path());
    }
  }
  std::ranges::sort(files);  // the numeric prefix is QEMU's priority order
  std::vector<OvmfImage> images;
  const auto add = [&](const OvmfImage& image) {
    const bool present = fs::exists(image.code, ec) && fs::exists(image.vars, ec);
    const bool seen = std::ranges::any_of(images, [&](const OvmfImage& have) {
      return have.code == image.code && have.vars == image.vars;
    });
    if (present && !seen) {
      images.push_back(image);
    }
  };
  for (const auto& file : files) {
    if (auto image = parse_firmware_descriptor(read_file(file))) {
      add(*image);
    }
  }
  if (images.empty()) {
    for (auto image : debian_ovmf_images()) {
      image.size_4m = is_4m(image.code);
      add(image);
    }
  }
  return images;
}

std::vector<std::string> parse_swtpm_features(std::string_view text) {
  boost::system::error_code ec;
  const json::value doc = json::parse(text, ec);
  std::vector<std::string> features;
  if (ec || !doc.is_object()) {
    return features;
  }
  if (const auto* list = doc.get_object().if_contains("features"); list && list->is_array()) {
    for (const auto& f : list->get_array()) {
      if (f.is_string()) {
        features.emplace_back(f.get_string());
      }
    }
  }
  return features;
}

SwtpmCaps find_swtpm() {
  SwtpmCaps caps;
  for (const char* dir : {"/usr/bin", "/usr/local/bin", "/bin"}) {
    const auto swtpm = fs::path(dir) / "swtpm";
    const auto setup = fs::path(dir) / "swtpm_setup";
    std::error_code ec;
    if (caps.path.empty() && fs::exists(swtpm, ec)) {
      caps.path = swtpm.string();
    }
    if (caps.setup_path.empty() && fs::exists(setup, ec)) {
      caps.setup_path = setup.string();
    }
  }
  if (caps.path.empty()) {
    return caps;
  }
  const auto run = run_process({caps.path, "socket", "--print-capabilities"}, {},
                               std::chrono::seconds(3));
  if (!run.ok()) {
    return caps;
  }
  caps.present = true;
  caps.features = parse_swtpm_features(run.out);
  caps.tpm2 = std::ranges::find(caps.features, "tpm-2.0") != caps.features.end();
  return caps;
}

}  // namespace qmd::policy
