#pragma once
// The built-in presets as data: instancetype series with their sizes, and preferences as
// lists of components, as KubeVirt's common-instancetypes composes them. preset_builtin.cpp
// turns the tables into YAML documents that the user-file reader reads.
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace qmd::policy::presets::builtin {

struct Size {
  std::string_view name;  // "large" -> u1.large
  std::uint32_t vcpus;
  std::string_view memory;           // "8Gi"
  std::string_view extra_spec = {};  // YAML merged into this size's spec, e.g. hugepages
};

struct Series {
  std::string_view name;               // "u1"
  std::vector<std::string_view> spec;  // YAML mappings every size shares, merged in order
  std::vector<Size> sizes;
};

struct PreferenceRow {
  std::string_view name;
  std::vector<std::string_view> components;  // names in components(), merged in order
  std::string_view requirements = {};        // YAML for spec.requirements, or empty
};

struct Component {
  std::string_view name;
  std::string_view spec;  // YAML (flow style) merged into the preference's spec
};

std::span<const Series> series();                  // preset_builtin_instancetypes.cpp
std::span<const Component> components();           // preset_builtin_preferences.cpp
std::span<const PreferenceRow> preference_rows();  // preset_builtin_preferences.cpp

}  // namespace qmd::policy::presets::builtin
