#pragma once
// KubeVirt instancetypes and preferences: built-in ones (common-instancetypes u1.*, and
// preferences windows.11/10/2k22/2k19, linux, ...) plus user files from a directory.
// Semantics follow KubeVirt: an instancetype sets cpu/memory and conflicts with explicit
// values in the VM; a preference fills only what the VM leaves unset.
#include <expected>
#include <memory>
#include <string>
#include <vector>

#include "policy/spec.hpp"
#include "policy/spec_error.hpp"

namespace qmd::policy {

struct PresetCatalog {
  // Built-ins plus every *.yaml in `dir` (kinds VirtualMachineInstancetype,
  // VirtualMachineClusterInstancetype, VirtualMachinePreference,
  // VirtualMachineClusterPreference). A user file may not shadow a built-in name.
  static std::expected<PresetCatalog, SpecErrors> load(const std::string& dir = "");
  std::vector<std::string> instancetype_names() const;
  std::vector<std::string> preference_names() const;

  struct Impl;
  std::shared_ptr<const Impl> impl;
};

// Expands spec.instancetype / spec.preference into the domain. Errors name
// spec.instancetype.name / the conflicting field.
std::expected<VmSpec, SpecErrors> apply_presets(const VmSpec& spec, const PresetCatalog& catalog);

}  // namespace qmd::policy
