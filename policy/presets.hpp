#pragma once
// KubeVirt instancetypes and preferences: built-in ones (common-instancetypes' instancetype
// series and x86_64 OS preferences) plus user files from a directory, written as upstream
// writes them (one or more documents a file). Semantics follow KubeVirt: an instancetype sets
// cpu/memory and conflicts with explicit values in the VM; a preference fills only what the
// VM leaves unset and may require a minimum the VM must meet.
#include <expected>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "policy/spec.hpp"
#include "policy/spec_error.hpp"

namespace qmd::policy {

// One preset as listed by `qmctl host` / GET /v1/host.
struct PresetListing {
  std::string family;  // "instancetype" | "preference"
  std::string name;
  std::string kind;    // VirtualMachineClusterPreference etc.; empty when the file is broken
  std::string origin;  // "built-in" or the file's path
  bool replaces_builtin = false;
  SpecErrors errors;  // non-empty: VMs naming it fail with these
};

// A file of the preset directory that did not load (or a document of it without a name).
struct PresetFileFailure {
  std::string file;
  SpecErrors errors;
};

struct PresetCatalog {
  // Built-ins plus every *.yaml in `dir`. A broken file fails only the VMs that name what it
  // defines; a file may replace a built-in of the same family and name. Only an unreadable
  // directory is an error.
  static std::expected<PresetCatalog, SpecErrors> load(const std::string& dir = "");
  std::vector<std::string> instancetype_names() const;
  std::vector<std::string> preference_names() const;
  std::vector<PresetListing> listing() const;
  const std::vector<PresetFileFailure>& failures() const;
  // One line for each file that replaced a built-in, for the daemon's log.
  const std::vector<std::string>& notes() const;

  struct Impl;
  std::shared_ptr<const Impl> impl;
};

// Expands spec.instancetype / spec.preference into the domain. Errors name
// spec.instancetype.name / the conflicting field / the broken preset file.
std::expected<VmSpec, SpecErrors> apply_presets(const VmSpec& spec, const PresetCatalog& catalog);

}  // namespace qmd::policy
