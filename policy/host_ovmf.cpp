#include <string_view>

#include "policy/host_caps.hpp"
#include "policy/host_probe_firmware.hpp"

namespace qmd::policy {

const std::vector<OvmfImage>& debian_ovmf_images() {
  static const std::vector<OvmfImage> images{
      {"/usr/share/OVMF/OVMF_CODE_4M.ms.fd", "/usr/share/OVMF/OVMF_VARS_4M.ms.fd", true, true,
       true},
      {"/usr/share/OVMF/OVMF_CODE_4M.secboot.fd", "/usr/share/OVMF/OVMF_VARS_4M.fd", true,
       false, true},
      {"/usr/share/OVMF/OVMF_CODE_4M.fd", "/usr/share/OVMF/OVMF_VARS_4M.fd", false, false, true},
  };
  return images;
}

const OvmfImage* select_ovmf(const HostCaps& caps, bool secure_boot) {
  const OvmfImage* best = nullptr;
  for (const auto& image : caps.ovmf) {
    if (image.secure_boot != secure_boot) {
      continue;
    }
    // 4M images first (the 2M ones cannot hold enough variables for Windows); with secure
    // boot, Microsoft keys enrolled, which is what a Windows guest expects; without, a build
    // with no keys, which boots anything.
    const auto score = [&](const OvmfImage& i) {
      return (i.size_4m ? 2 : 0) + (i.keys_enrolled == secure_boot ? 1 : 0);
    };
    if (best == nullptr || score(image) > score(*best)) {
      best = &image;
    }
  }
  return best;
}

}  // namespace qmd::policy
