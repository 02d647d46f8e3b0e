#pragma once
// The catalog's contents (presets.cpp loads them, preset_expand.cpp looks them up).
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "policy/preset_model.hpp"
#include "policy/presets.hpp"

namespace qmd::policy {

// One name of one family: the preset, or why VMs naming it fail.
template <typename T>
struct PresetEntry {
  std::optional<T> preset;  // nullopt: broken, see `errors`
  std::string origin;       // presets::kBuiltinOrigin or a file path
  bool replaces_builtin = false;
  SpecErrors errors;
  // KubeVirt keeps namespaced and cluster kinds apart: a file of the other scope with the same
  // name (VirtualMachineInstancetype csmall beside VirtualMachineClusterInstancetype csmall).
  std::optional<T> other_scope;
  std::string other_scope_origin;
};

// Whether a kind is one of the cluster-wide two.
inline bool cluster_scoped(std::string_view kind) {
  return kind.find("Cluster") != std::string_view::npos;
}

struct PresetCatalog::Impl {
  std::map<std::string, PresetEntry<presets::Instancetype>> instancetypes;
  std::map<std::string, PresetEntry<presets::Preference>> preferences;
  std::vector<PresetFileFailure> failures;
  std::vector<std::string> notes;
};

}  // namespace qmd::policy
