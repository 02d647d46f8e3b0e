#pragma once
// The preset reader's parts (preset_read*.cpp). Internal to policy/preset*.cpp.
#include "policy/preset_model.hpp"
#include "policy/yaml_reader.hpp"

namespace qmd::policy::presets::parts {

inline constexpr std::string_view kNoEffectHere =
    "has no effect on one host (it places or schedules the VM in a cluster); ignored";
inline constexpr std::string_view kPodAnnotations =
    "has no effect on one host (they annotate the virt-launcher pod); ignored";
inline constexpr std::string_view kNotYet = "is not applied by qmd yet; ignored";

// instancetype spec.launchSecurity / preference spec.preferredLaunchSecurity: one of sev, snp,
// tdx; `{}` names none and changes nothing (with a warning).
LaunchSecurity read_launch_security(yaml::MapReader& launch);

// A preference's `spec`.
void read_preference_spec(yaml::MapReader& spec, Preference& p);

}  // namespace qmd::policy::presets::parts
