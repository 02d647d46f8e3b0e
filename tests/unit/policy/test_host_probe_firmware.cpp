#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "policy/host_probe_firmware.hpp"

using namespace qmd::policy;

namespace {

std::string descriptor(const std::string& device, const std::string& features,
                       const std::string& arch = "x86_64") {
  return R"({"description": "x", "interface-types": ["uefi"],
    "mapping": {"device": ")" + device + R"(",
      "executable": {"filename": "/fw/CODE.fd", "format": "raw"},
      "nvram-template": {"filename": "/fw/VARS.fd", "format": "raw"}},
    "targets": [{"architecture": ")" + arch + R"(", "machines": ["pc-q35-*"]}],
    "features": [)" + features + "], \"tags\": []}";
}

bool operator==(const OvmfImage& a, const OvmfImage& b) {
  return a.code == b.code && a.vars == b.vars && a.secure_boot == b.secure_boot &&
         a.keys_enrolled == b.keys_enrolled && a.size_4m == b.size_4m;
}

}  // namespace

TEST_CASE("a descriptor that is not a UEFI flash image for x86_64 gives nothing") {
  CHECK_FALSE(parse_firmware_descriptor("").has_value());
  CHECK_FALSE(parse_firmware_descriptor("{").has_value());
  CHECK_FALSE(parse_firmware_descriptor(descriptor("memory", "")).has_value());
  CHECK_FALSE(parse_firmware_descriptor(descriptor("flash", "", "aarch64")).has_value());
  CHECK_FALSE(parse_firmware_descriptor(R"({"interface-types": ["bios"]})").has_value());
  CHECK(parse_swtpm_features("not json").empty());
}

TEST_CASE("firmware descriptors say secure boot and enrolled keys") {
  const auto plain = parse_firmware_descriptor(descriptor("flash", R"("acpi-s3", "amd-sev")"));
  REQUIRE(plain.has_value());
  CHECK(*plain == OvmfImage{"/fw/CODE.fd", "/fw/VARS.fd", false, false, false});
  const auto ms = parse_firmware_descriptor(descriptor(
      "flash", R"("acpi-s3", "enrolled-keys", "requires-smm", "secure-boot")"));
  REQUIRE(ms.has_value());
  CHECK(*ms == OvmfImage{"/fw/CODE.fd", "/fw/VARS.fd", true, true, false});
}

TEST_CASE("find_ovmf reads a descriptor directory in priority order, skipping missing files") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / "qmd-test-fw";
  fs::remove_all(dir);
  fs::create_directories(dir);
  for (const char* f : {"CODE_4M.fd", "SB_4M.fd", "VARS_4M.fd"}) {
    std::ofstream(dir / f) << std::string(4 << 20, '\0');
  }
  const auto write = [&](const char* name, const std::string& code, const char* features) {
    std::string text = descriptor("flash", features);
    text.replace(text.find("/fw/CODE.fd"), 11, code);
    text.replace(text.find("/fw/VARS.fd"), 11, (dir / "VARS_4M.fd").string());
    std::ofstream(dir / name) << text;
  };
  write("60-plain.json", (dir / "CODE_4M.fd").string(), "");
  write("40-sb.json", (dir / "SB_4M.fd").string(), R"("secure-boot", "requires-smm")");
  write("50-missing.json", (dir / "NOPE.fd").string(), "");
  const auto images = find_ovmf(dir.string());
  REQUIRE(images.size() == 2);
  CHECK(images[0] == OvmfImage{(dir / "SB_4M.fd").string(), (dir / "VARS_4M.fd").string(), true,
                               false, true});
  CHECK(images[1] == OvmfImage{(dir / "CODE_4M.fd").string(), (dir / "VARS_4M.fd").string(),
                               false, false, true});
  fs::remove_all(dir);
}

TEST_CASE("swtpm capabilities") {
  CHECK(parse_swtpm_features(R"({ "type": "swtpm", "features": [ "tpm-1.2", "tpm-2.0" ],
                                  "version": "0.7.1" })") ==
        std::vector<std::string>{"tpm-1.2", "tpm-2.0"});
}

TEST_CASE("Debian's OVMF images") {
  const auto& images = debian_ovmf_images();
  REQUIRE(images.size() == 3);
  CHECK(images[0] == OvmfImage{"/usr/share/OVMF/OVMF_CODE_4M.ms.fd",
                               "/usr/share/OVMF/OVMF_VARS_4M.ms.fd", true, true, true});
  CHECK(images[2] == OvmfImage{"/usr/share/OVMF/OVMF_CODE_4M.fd",
                               "/usr/share/OVMF/OVMF_VARS_4M.fd", false, false, true});
}
