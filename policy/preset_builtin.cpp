// Turns the built-in tables (preset_builtin_*.cpp) into YAML documents in upstream's
// layout, merging each preset's parts in order as kustomize merges components; the same
// reader as user files reads them, so a typo in a table fails the unit tests, not a user.
#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

#include "policy/preset_builtin_table.hpp"
#include "policy/preset_model.hpp"

namespace qmd::policy::presets {
namespace {

// Merges `from` into `into`: mappings key by key, anything else replaced.
void merge(YAML::Node into, const YAML::Node& from) {
  for (const auto& kv : from) {
    const auto key = kv.first.as<std::string>();
    if (kv.second.IsMap() && into[key].IsMap()) {
      merge(into[key], kv.second);
    } else {
      into[key] = YAML::Clone(kv.second);
    }
  }
}

std::string_view component(std::string_view name) {
  const auto all = builtin::components();
  const auto it = std::ranges::find(all, name, &builtin::Component::name);
  if (it == all.end()) {
    throw std::logic_error(fmt::format("built-in preset component \"{}\" is not defined", name));
  }
  return it->spec;
}

YAML::Node document(std::string_view kind, std::string_view name, const YAML::Node& spec) {
  YAML::Node doc;
  doc["apiVersion"] = "instancetype.kubevirt.io/v1beta1";
  doc["kind"] = std::string(kind);
  doc["metadata"]["name"] = std::string(name);
  doc["spec"] = spec;
  return doc;
}

void add_instancetypes(std::vector<YAML::Node>& out) {
  for (const auto& series : builtin::series()) {
    for (const auto& size : series.sizes) {
      YAML::Node spec(YAML::NodeType::Map);
      for (auto part : series.spec) {
        merge(spec, YAML::Load(std::string(part)));
      }
      if (!size.extra_spec.empty()) {
        merge(spec, YAML::Load(std::string(size.extra_spec)));
      }
      merge(spec, YAML::Load(fmt::format("{{cpu: {{guest: {}}}, memory: {{guest: {}}}}}",
                                         size.vcpus, size.memory)));
      out.push_back(document("VirtualMachineClusterInstancetype",
                             fmt::format("{}.{}", series.name, size.name), spec));
    }
  }
}

void add_preferences(std::vector<YAML::Node>& out) {
  for (const auto& row : builtin::preference_rows()) {
    YAML::Node spec(YAML::NodeType::Map);
    for (auto name : row.components) {
      merge(spec, YAML::Load(std::string(component(name))));
    }
    if (!row.requirements.empty()) {
      merge(spec, YAML::Load(fmt::format("{{requirements: {}}}", row.requirements)));
    }
    out.push_back(document("VirtualMachineClusterPreference", row.name, spec));
  }
}

}  // namespace

std::vector<YAML::Node> builtin_preset_documents() {
  std::vector<YAML::Node> out;
  add_instancetypes(out);
  add_preferences(out);
  return out;
}

}  // namespace qmd::policy::presets
