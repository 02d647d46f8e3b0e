#pragma once
// Ignition (Fedora CoreOS, Flatcar): KubeVirt's kubevirt.io/ignitiondata annotation holds the
// config the guest reads from fw_cfg at opt/com.coreos/config.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "policy/spec.hpp"
#include "policy/spec_error.hpp"

namespace qmd::policy {

inline constexpr std::string_view kIgnitionAnnotation = "kubevirt.io/ignitiondata";
// Kubernetes' limit on all of one object's annotations together (TotalAnnotationSizeLimitB).
inline constexpr std::size_t kIgnitionMaxBytes = 256 * 1024;

// The annotation's value, when the spec has it.
inline std::optional<std::string> ignition_data(const VmSpec& spec) {
  const auto it = spec.annotations.find(std::string(kIgnitionAnnotation));
  if (it == spec.annotations.end()) {
    return std::nullopt;
  }
  return it->second;
}

// An error when the annotation is over kIgnitionMaxBytes.
void validate_ignition(const VmSpec& spec, SpecErrors& errors);

}  // namespace qmd::policy
