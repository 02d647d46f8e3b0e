// The top of a spec document: apiVersion, kind, metadata and the VirtualMachine wrapper.
#include "policy/parse.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <yaml-cpp/depthguard.h>

#include "policy/parse_parts.hpp"
#include "policy/spec_limits.hpp"
#include "policy/yaml_reader.hpp"

namespace qmd::policy {

namespace {

using yaml::MapReader;

constexpr std::array<std::string_view, 2> kApiVersions{"kubevirt.io/v1", "kubevirt.io/v1alpha3"};
constexpr std::size_t kMaxSpecBytes = 1024 * 1024;
constexpr std::string_view kExpectedTop =
    "expected a VirtualMachine or VirtualMachineInstance: a mapping with apiVersion, kind, "
    "metadata and spec";

void read_metadata(MapReader& meta, VmSpec& out) {
  meta.require("name");
  std::optional<std::string> name;
  meta.read("name", name);
  out.name = name.value_or("");
  if (name && !parse_parts::is_dns_label(out.name)) {
    meta.error_at("name", fmt::format("\"{}\" is not a valid name: use at most 63 lowercase "
                                      "letters, digits and '-', starting and ending with a "
                                      "letter or digit",
                                      out.name));
  }
  meta.read("namespace", out.namespace_);
  meta.read_string_map("labels", out.labels);
  meta.read_string_map("annotations", out.annotations);
}

// KubeVirt's two kinds for each reference: the cluster-wide one (its default) and the
// namespaced one. One host has one namespace, so both find the same presets.
void check_preset_kind(MapReader& ref, std::string_view key, std::optional<std::string>& kind) {
  const bool is_type = key == "instancetype";
  const std::string_view cluster =
      is_type ? "VirtualMachineClusterInstancetype" : "VirtualMachineClusterPreference";
  const std::string_view local = is_type ? "VirtualMachineInstancetype" : "VirtualMachinePreference";
  if (kind && *kind != cluster && *kind != local) {
    ref.error_at("kind", fmt::format("\"{}\" is not {} kind; use {} (the default) or {}", *kind,
                                     is_type ? "an instancetype" : "a preference", cluster,
                                     local));
    kind.reset();
  }
}

void read_preset_ref(MapReader& spec, std::string_view key, std::optional<PresetRef>& out) {
  spec.read_map(key, [&](MapReader& ref) {
    PresetRef preset;
    ref.require("name");
    ref.read("name", preset.name);
    ref.read("kind", preset.kind);
    check_preset_kind(ref, key, preset.kind);
    out = std::move(preset);
  });
}

// Template labels describe the same VM here: they fill in what metadata does not say.
void read_template_metadata(MapReader& meta, VmSpec& out) {
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  meta.read_string_map("labels", labels);
  meta.read_string_map("annotations", annotations);
  out.labels.merge(labels);
  out.annotations.merge(annotations);
}

// KubeVirt's run strategies that mean something on one host, and its rule that `running`
// and `runStrategy` exclude each other.
void read_run_strategy_rules(MapReader& spec, VmSpec& out) {
  if (out.run_strategy && out.running) {
    spec.error_at("runStrategy", "cannot be set together with spec.running (KubeVirt refuses "
                                 "both): keep runStrategy and remove running");
  }
  if (!out.run_strategy) {
    return;
  }
  // Once: started by a request, never restarted; what Manual does here.
  const auto known = [](const std::string& s) {
    return s == "Always" || s == "RerunOnFailure" || s == "Manual" || s == "Halted" ||
           s == "Once";
  };
  const std::string& strategy = *out.run_strategy;
  if (strategy == "WaitAsReceiver") {
    spec.error_at("runStrategy", "WaitAsReceiver marks a KubeVirt migration target; qmd makes "
                                 "its migration targets itself (qmctl migrate): use Always, "
                                 "RerunOnFailure, Manual or Halted");
  } else if (!known(strategy)) {
    spec.error_at("runStrategy",
                  fmt::format("\"{}\" is not a run strategy: use Always (restart on any exit), "
                              "RerunOnFailure (restart after a crash), Manual, Once or Halted",
                              strategy));
  }
  if (!known(strategy)) {
    out.run_strategy.reset();
  }
}

void read_vm_spec(MapReader& spec, VmSpec& out) {
  spec.read_list("dataVolumeTemplates", [&](MapReader& entry, std::size_t i) {
    parse_parts::read_data_volume_template(entry, i, out);
  });
  spec.accept_ignored("resourceClaimTemplates",
                      "has no effect on one host (DRA creates resource claims in a cluster); "
                      "ignored");
  spec.read("running", out.running);
  spec.read("runStrategy", out.run_strategy);
  read_run_strategy_rules(spec, out);
  read_preset_ref(spec, "instancetype", out.instancetype);
  read_preset_ref(spec, "preference", out.preference);
  spec.require("template");
  spec.read_map("template", [&](MapReader& tmpl) {
    tmpl.read_map("metadata", [&](MapReader& meta) { read_template_metadata(meta, out); });
    tmpl.require("spec");
    tmpl.read_map("spec", [&](MapReader& vmi) { parse_parts::read_vmi_spec(vmi, out); });
  });
}

void read_document(const YAML::Node& root, yaml::Document& doc, VmSpec& out) {
  MapReader top(doc, root, "", {1, 1});
  for (auto key : {"apiVersion", "kind", "metadata", "spec"}) {
    top.require(key);
  }
  top.read("apiVersion", out.api_version);
  if (top.has("apiVersion") && std::ranges::find(kApiVersions, out.api_version) ==
                                   kApiVersions.end()) {
    top.error_at("apiVersion", fmt::format("\"{}\" is not supported: use {}", out.api_version,
                                           fmt::join(kApiVersions, " or ")));
  }
  top.read("kind", out.kind);
  top.read_map("metadata", [&](MapReader& meta) { read_metadata(meta, out); });
  if (out.kind == "VirtualMachine") {
    out.source.set_template_prefix("spec.template.spec");
    top.read_map("spec", [&](MapReader& spec) { read_vm_spec(spec, out); });
  } else if (out.kind == "VirtualMachineInstance") {
    out.source.set_template_prefix("spec");
    top.read_map("spec", [&](MapReader& spec) { parse_parts::read_vmi_spec(spec, out); });
  } else {
    top.take("spec");  // its shape depends on kind, which is already wrong
    if (top.has("kind")) {
      top.error_at("kind", fmt::format("\"{}\" is not supported: use VirtualMachine or "
                                       "VirtualMachineInstance",
                                       out.kind));
    }
  }
}

SpecError file_error(const std::string& path, std::string message) {
  return SpecError{"", std::move(message), path, {}};
}

}  // namespace

PartialSpec parse_spec_partial(const std::string& text, const std::string& file) {
  PartialSpec out;
  out.spec.source.set_file(file);
  const auto refuse = [&](SpecError error) {
    out.errors.push_back(std::move(error));
    return std::move(out);
  };
  // Before any node is built: yaml-cpp spends ~0.5 KiB a value, and loops without end on a
  // stray ',' that starts a document.
  if (auto too_big = check_yaml_size(text, file)) {
    return refuse(std::move(*too_big));
  }
  std::vector<YAML::Node> documents;
  try {
    documents = YAML::LoadAll(text);
  } catch (const YAML::DeepRecursion& e) {
    // yaml-cpp labels this "bad file"; say what is actually wrong.
    return refuse(SpecError{
        "", "the document nests too deeply to be a VM spec; check its brackets and indentation",
        file, Mark{e.mark.line + 1, e.mark.column + 1}});
  } catch (const YAML::Exception& e) {
    return refuse(SpecError{"", fmt::format("YAML syntax error: {}", e.msg), file,
                            Mark{e.mark.line + 1, e.mark.column + 1}});
  }
  // A stray `---` at the end adds an empty document; only real ones count.
  std::erase_if(documents, [](const YAML::Node& d) { return d.IsNull(); });
  if (documents.empty()) {
    return refuse(SpecError{"", fmt::format("the document is empty: {}", kExpectedTop), file, {}});
  }
  if (documents.size() > 1) {
    return refuse(SpecError{
        "",
        fmt::format("found {} YAML documents; a spec file holds exactly one VM: split them "
                    "into separate files",
                    documents.size()),
        file, yaml::mark_of(documents[1])});
  }
  if (!documents[0].IsMap()) {
    return refuse(SpecError{"",
                            fmt::format("{}, got {}", kExpectedTop, yaml::describe(documents[0])),
                            file, yaml::mark_of(documents[0])});
  }
  {
    yaml::Document doc(out.spec.source, out.errors);
    doc.set_warnings(out.spec.warnings);
    read_document(documents[0], doc, out.spec);
  }
  std::ranges::stable_sort(out.errors, [](const SpecError& a, const SpecError& b) {
    return std::pair(a.mark.line, a.mark.column) < std::pair(b.mark.line, b.mark.column);
  });
  // With an unknown kind the fields are unread, so there is nothing to check further.
  out.readable = out.spec.kind == "VirtualMachine" || out.spec.kind == "VirtualMachineInstance";
  return out;
}

std::expected<VmSpec, SpecErrors> parse_spec(const std::string& text, const std::string& file) {
  auto partial = parse_spec_partial(text, file);
  if (!partial.errors.empty()) {
    return std::unexpected(std::move(partial.errors));
  }
  return std::move(partial.spec);
}

std::expected<std::string, SpecErrors> read_spec_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return std::unexpected(
        SpecErrors{file_error(path, "the spec path is a directory, not a file")});
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return std::unexpected(SpecErrors{
        file_error(path, fmt::format("cannot open the spec file: {}", std::strerror(errno)))});
  }
  std::string text(kMaxSpecBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) {
    return std::unexpected(SpecErrors{
        file_error(path, fmt::format("cannot read the spec file: {}", std::strerror(errno)))});
  }
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > kMaxSpecBytes) {
    return std::unexpected(SpecErrors{file_error(
        path, "the spec file is larger than 1 MiB; a VM spec is a few kilobytes: check the "
              "path")});
  }
  return text;
}

std::expected<VmSpec, SpecErrors> parse_spec_file(const std::string& path) {
  auto text = read_spec_file(path);
  if (!text) {
    return std::unexpected(std::move(text.error()));
  }
  return parse_spec(*text, path);
}

}  // namespace qmd::policy
