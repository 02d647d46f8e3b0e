// PresetCatalog: the built-in presets plus a directory of user files.
#include "policy/presets.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include "policy/preset_catalog_impl.hpp"
#include "policy/yaml_reader.hpp"

namespace qmd::policy {
namespace {

namespace fs = std::filesystem;
using presets::kBuiltinOrigin;

// The family and name a document declares, read without the strict reader so that a
// document with errors still tells which VMs it breaks.
struct Declared {
  std::string kind;
  std::string name;
};

std::optional<Declared> declared(const YAML::Node& node) {
  if (!node.IsMap() || !node["kind"].IsScalar() || !node["metadata"].IsMap() ||
      !node["metadata"]["name"].IsScalar()) {
    return std::nullopt;
  }
  Declared d{node["kind"].Scalar(), node["metadata"]["name"].Scalar()};
  if (!presets::is_preset_kind(d.kind)) {
    return std::nullopt;
  }
  return d;
}

template <typename T>
void add_entry(std::map<std::string, PresetEntry<T>>& map, T preset, const YAML::Node& node,
               PresetCatalog::Impl& impl, const char* family) {
  const std::string name = preset.name;
  const std::string file = preset.file;
  auto [it, fresh] = map.try_emplace(name);
  auto& entry = it->second;
  if (fresh) {
    entry.preset = std::move(preset);
    entry.origin = file;
    return;
  }
  if (entry.origin == kBuiltinOrigin && file != kBuiltinOrigin && !entry.replaces_builtin) {
    impl.notes.push_back(
        fmt::format("{} \"{}\" from {} replaces the built-in one", family, name, file));
    entry.preset = std::move(preset);
    entry.origin = file;
    entry.replaces_builtin = true;
    return;
  }
  if (entry.preset && !entry.other_scope &&
      cluster_scoped(entry.preset->kind) != cluster_scoped(preset.kind)) {
    entry.other_scope = std::move(preset);
    entry.other_scope_origin = file;
    return;
  }
  SpecError clash{"metadata.name",
                  fmt::format("{} \"{}\" is defined both here and in {}; keep one of them", family,
                              name, entry.origin),
                  file, yaml::mark_of(node["metadata"]["name"])};
  entry.preset.reset();
  entry.errors.push_back(clash);
  impl.failures.push_back(PresetFileFailure{file, {clash}});
}

template <typename T>
void add_broken(std::map<std::string, PresetEntry<T>>& map, const std::string& name,
                const std::string& file, const SpecErrors& errors) {
  auto& entry = map[name];
  if (entry.origin.empty() || entry.origin == kBuiltinOrigin) {
    entry.origin = file;
    entry.replaces_builtin = entry.preset.has_value();
  }
  entry.preset.reset();
  entry.errors.insert(entry.errors.end(), errors.begin(), errors.end());
}

void add_document(PresetCatalog::Impl& impl, const YAML::Node& node, const std::string& file) {
  if (node.IsNull()) {
    return;  // an empty document between `---` separators
  }
  auto preset = presets::read_preset(node, file);
  if (preset) {
    if (auto* it = std::get_if<presets::Instancetype>(&*preset)) {
      add_entry(impl.instancetypes, std::move(*it), node, impl, "instancetype");
    } else {
      add_entry(impl.preferences, std::move(std::get<presets::Preference>(*preset)), node, impl,
                "preference");
    }
    return;
  }
  impl.failures.push_back(PresetFileFailure{file, preset.error()});
  if (auto d = declared(node)) {
    if (presets::is_preference_kind(d->kind)) {
      add_broken(impl.preferences, d->name, file, preset.error());
    } else {
      add_broken(impl.instancetypes, d->name, file, preset.error());
    }
  }
}

void load_file(PresetCatalog::Impl& impl, const fs::path& path) {
  const std::string file = path.string();
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAllFromFile(file);
  } catch (const YAML::BadFile&) {
    impl.failures.push_back(PresetFileFailure{file, {SpecError{"", "cannot be read", file, {}}}});
    return;
  } catch (const YAML::Exception& e) {
    impl.failures.push_back(PresetFileFailure{
        file, {SpecError{"", e.msg, file, Mark{e.mark.line + 1, e.mark.column + 1}}}});
    return;
  }
  for (const auto& doc : docs) {
    add_document(impl, doc, file);
  }
}

std::optional<SpecError> load_dir(PresetCatalog::Impl& impl, const std::string& dir) {
  std::error_code ec;
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().extension() == ".yaml" && !entry.is_directory()) {
      files.push_back(entry.path());
    }
  }
  if (ec) {
    return SpecError{"", fmt::format("preset directory cannot be read: {}", ec.message()), dir, {}};
  }
  std::ranges::sort(files);  // deterministic: which file replaces, which one clashes
  for (const auto& path : files) {
    load_file(impl, path);
  }
  return std::nullopt;
}

template <typename Map>
std::vector<std::string> keys(const Map& map) {
  std::vector<std::string> out;
  for (const auto& [name, entry] : map) {
    if (entry.preset) {
      out.push_back(name);
    }
  }
  return out;
}

template <typename Map>
void list(const Map& map, const char* family, std::vector<PresetListing>& out) {
  for (const auto& [name, entry] : map) {
    out.push_back(PresetListing{.family = family,
                                .name = name,
                                .kind = entry.preset ? entry.preset->kind : "",
                                .origin = entry.origin,
                                .replaces_builtin = entry.replaces_builtin,
                                .errors = entry.errors});
    if (entry.other_scope) {  // the same name in the other scope is a preset of its own
      out.push_back(PresetListing{.family = family,
                                  .name = name,
                                  .kind = entry.other_scope->kind,
                                  .origin = entry.other_scope_origin,
                                  .replaces_builtin = false,
                                  .errors = {}});
    }
  }
}

}  // namespace

std::expected<PresetCatalog, SpecErrors> PresetCatalog::load(const std::string& dir) {
  auto impl = std::make_shared<Impl>();
  for (const auto& doc : presets::builtin_preset_documents()) {
    add_document(*impl, doc, kBuiltinOrigin);
  }
  if (!dir.empty()) {
    if (auto error = load_dir(*impl, dir)) {
      return std::unexpected(SpecErrors{*error});
    }
  }
  return PresetCatalog{std::move(impl)};
}

std::vector<std::string> PresetCatalog::instancetype_names() const {
  return impl ? keys(impl->instancetypes) : std::vector<std::string>{};
}

std::vector<std::string> PresetCatalog::preference_names() const {
  return impl ? keys(impl->preferences) : std::vector<std::string>{};
}

std::vector<PresetListing> PresetCatalog::listing() const {
  std::vector<PresetListing> out;
  if (impl) {
    list(impl->instancetypes, "instancetype", out);
    list(impl->preferences, "preference", out);
  }
  return out;
}

const std::vector<PresetFileFailure>& PresetCatalog::failures() const {
  static const std::vector<PresetFileFailure> kNone;
  return impl ? impl->failures : kNone;
}

const std::vector<std::string>& PresetCatalog::notes() const {
  static const std::vector<std::string> kNone;
  return impl ? impl->notes : kNone;
}

}  // namespace qmd::policy
