// apply_presets: finds what spec.instancetype / spec.preference name and expands them into
// the VM (KubeVirt's order: the instancetype, then the preference, then its requirements).
#include <fmt/format.h>

#include "policy/preset_catalog_impl.hpp"

namespace qmd::policy {
namespace {

// The files that failed without telling which names they define, for "unknown" errors.
std::string unnamed_failures(const PresetCatalog::Impl& impl) {
  std::vector<std::string> files;
  for (const auto& failure : impl.failures) {
    if (std::ranges::find(files, failure.file) == files.end()) {
      files.push_back(failure.file);
    }
  }
  if (files.empty()) {
    return "";
  }
  return fmt::format(" (preset files that failed to load, see `qmctl host`: {})",
                     fmt::join(files, ", "));
}

template <typename T>
const T* find(const std::map<std::string, PresetEntry<T>>& map, const PresetCatalog::Impl& impl,
              const VmSpec& spec, const char* family, const char* field,
              const std::vector<std::string>& names, SpecErrors& errors) {
  const auto& ref =
      std::string_view(family) == "instancetype" ? *spec.instancetype : *spec.preference;
  auto it = map.find(ref.name);
  if (it == map.end()) {
    errors.push_back(spec.source.error_at_full(
        field, fmt::format("unknown {} \"{}\"; available: {}{}", family, ref.name,
                           fmt::join(names, ", "), unnamed_failures(impl))));
    return nullptr;
  }
  if (!it->second.preset) {
    errors.push_back(spec.source.error_at_full(
        field, fmt::format("{} \"{}\" did not load from {}; fix the file (its errors follow)",
                           family, ref.name, it->second.origin)));
    errors.insert(errors.end(), it->second.errors.begin(), it->second.errors.end());
    return nullptr;
  }
  // The ref's kind picks the scope; KubeVirt's default kind is the cluster one.
  const auto& other = it->second.other_scope;
  const bool want_cluster = cluster_scoped(ref.kind.value_or("VirtualMachineCluster"));
  if (other && cluster_scoped(it->second.preset->kind) != want_cluster) {
    return &*other;
  }
  return &*it->second.preset;
}

}  // namespace

std::expected<VmSpec, SpecErrors> apply_presets(const VmSpec& spec, const PresetCatalog& catalog) {
  VmSpec out = spec;
  SpecErrors errors;
  static const PresetCatalog::Impl kEmpty;
  const auto& impl = catalog.impl ? *catalog.impl : kEmpty;
  const presets::Instancetype* type = nullptr;
  const presets::Preference* pref = nullptr;
  if (spec.instancetype) {
    type = find(impl.instancetypes, impl, spec, "instancetype", "spec.instancetype.name",
                catalog.instancetype_names(), errors);
  }
  if (spec.preference) {
    pref = find(impl.preferences, impl, spec, "preference", "spec.preference.name",
                catalog.preference_names(), errors);
  }
  if (pref) {
    presets::check_requirements(spec, type, *pref, errors);
  }
  if (type) {
    presets::apply_instancetype(out, *type, pref, errors);
  }
  if (pref) {
    presets::apply_preference(out, *pref);
  }
  if (!errors.empty()) {
    return std::unexpected(std::move(errors));
  }
  return out;
}

}  // namespace qmd::policy
