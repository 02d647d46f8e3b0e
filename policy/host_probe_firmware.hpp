#pragma once
// Finding OVMF images (QEMU firmware descriptors, else Debian's file names) and swtpm.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "policy/host_caps.hpp"

namespace qmd::policy {

// One QEMU firmware descriptor (docs/interop/firmware.json): a UEFI flash image for
// x86_64 with its VARS template; nullopt for anything else (BIOS, memory-mapped SEV builds,
// other architectures) or malformed JSON.
std::optional<OvmfImage> parse_firmware_descriptor(std::string_view json);

// The Debian 12 ovmf package's 4M images, plain, secure boot, secure boot + MS keys.
const std::vector<OvmfImage>& debian_ovmf_images();

// Descriptors in `descriptor_dir` (in file-name order, QEMU's priority), keeping images whose
// files exist; when there are none, the Debian images that exist.
std::vector<OvmfImage> find_ovmf(const std::string& descriptor_dir = "/usr/share/qemu/firmware");

// `{"type": "swtpm", "features": [...]}` -> the features.
std::vector<std::string> parse_swtpm_features(std::string_view json);
SwtpmCaps find_swtpm();

}  // namespace qmd::policy
