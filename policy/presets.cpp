// PresetCatalog: the built-in presets plus a directory of user files.
#include "policy/presets.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include "policy/preset_model.hpp"
#include "policy/yaml_reader.hpp"

namespace qmd::policy {

struct PresetCatalog::Impl {
  std::map<std::string, presets::Instancetype> instancetypes;
  std::map<std::string, presets::Preference> preferences;
};

namespace {

namespace fs = std::filesystem;

constexpr const char* kBuiltinFile = "<built-in>";

// Adds one document to the catalog; a name may be defined once per kind.
void add_document(PresetCatalog::Impl& impl, const YAML::Node& node, const std::string& file,
                  SpecErrors& errors) {
  auto preset = presets::read_preset(node, file);
  if (!preset) {
    errors.insert(errors.end(), preset.error().begin(), preset.error().end());
    return;
  }
  auto add = [&](auto& map, auto&& value, const char* what) {
    const std::string name = value.name;
    if (auto it = map.find(name); it != map.end()) {
      errors.push_back(
          SpecError{"metadata.name",
                    fmt::format("{} \"{}\" is already defined in {}; pick another name", what, name,
                                it->second.file),
                    file, yaml::mark_of(node["metadata"]["name"])});
      return;
    }
    map.emplace(name, std::move(value));
  };
  if (auto* it = std::get_if<presets::Instancetype>(&*preset)) {
    add(impl.instancetypes, std::move(*it), "instancetype");
  } else {
    add(impl.preferences, std::move(std::get<presets::Preference>(*preset)), "preference");
  }
}

// YAML syntax errors carry yaml-cpp's 0-based mark.
SpecError syntax_error(const YAML::Exception& e, const std::string& file) {
  return SpecError{"", e.msg, file, Mark{e.mark.line + 1, e.mark.column + 1}};
}

void load_builtins(PresetCatalog::Impl& impl, SpecErrors& errors) {
  for (const auto& doc : YAML::LoadAll(presets::builtin_presets_yaml())) {
    add_document(impl, doc, kBuiltinFile, errors);
  }
}

void load_file(PresetCatalog::Impl& impl, const fs::path& path, SpecErrors& errors) {
  const std::string file = path.string();
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAllFromFile(file);
  } catch (const YAML::BadFile&) {
    errors.push_back(SpecError{"", "cannot be read", file, {}});
    return;
  } catch (const YAML::Exception& e) {
    errors.push_back(syntax_error(e, file));
    return;
  }
  if (docs.size() != 1) {
    errors.push_back(SpecError{
        "",
        fmt::format("holds {} documents; put exactly one preset in each file", docs.size()),
        file,
        {}});
    return;
  }
  add_document(impl, docs.front(), file, errors);
}

void load_dir(PresetCatalog::Impl& impl, const std::string& dir, SpecErrors& errors) {
  std::error_code ec;
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().extension() == ".yaml" && !entry.is_directory()) {
      files.push_back(entry.path());
    }
  }
  if (ec) {
    errors.push_back(
        SpecError{"", fmt::format("preset directory cannot be read: {}", ec.message()), dir, {}});
    return;
  }
  std::ranges::sort(files);  // deterministic: the first file of a clashing pair wins
  for (const auto& path : files) {
    load_file(impl, path, errors);
  }
}

template <typename Map>
std::vector<std::string> keys(const Map& map) {
  std::vector<std::string> out;
  for (const auto& [name, _] : map) {
    out.push_back(name);
  }
  return out;
}

}  // namespace

std::expected<PresetCatalog, SpecErrors> PresetCatalog::load(const std::string& dir) {
  auto impl = std::make_shared<Impl>();
  SpecErrors errors;
  load_builtins(*impl, errors);
  if (!dir.empty()) {
    load_dir(*impl, dir, errors);
  }
  if (!errors.empty()) {
    return std::unexpected(std::move(errors));
  }
  return PresetCatalog{std::move(impl)};
}

std::vector<std::string> PresetCatalog::instancetype_names() const {
  return impl ? keys(impl->instancetypes) : std::vector<std::string>{};
}

std::vector<std::string> PresetCatalog::preference_names() const {
  return impl ? keys(impl->preferences) : std::vector<std::string>{};
}

}  // namespace qmd::policy

namespace qmd::policy {
namespace {

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) {
    out += out.empty() ? "" : ", ";
    out += n;
  }
  return out;
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
    if (auto it = impl.instancetypes.find(spec.instancetype->name);
        it != impl.instancetypes.end()) {
      type = &it->second;
    } else {
      errors.push_back(spec.source.error_at_full(
          "spec.instancetype.name",
          fmt::format("unknown instancetype \"{}\"; available: {}", spec.instancetype->name,
                      join(catalog.instancetype_names()))));
    }
  }
  if (spec.preference) {
    if (auto it = impl.preferences.find(spec.preference->name); it != impl.preferences.end()) {
      pref = &it->second;
    } else {
      errors.push_back(spec.source.error_at_full(
          "spec.preference.name",
          fmt::format("unknown preference \"{}\"; available: {}", spec.preference->name,
                      join(catalog.preference_names()))));
    }
  }
  // KubeVirt's order: the instancetype first, then the preference fills what is left.
  if (type) {
    presets::apply_instancetype(out, *type,
                                pref ? pref->cpu_topology : std::optional<std::string>{}, errors);
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
