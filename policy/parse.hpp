#pragma once
// YAML/JSON spec documents -> VmSpec, with every error naming its field and line:column.
// Unknown fields are errors; nothing is silently ignored; no defaults are filled in here.
#include <cstdint>
#include <expected>
#include <string>

#include "policy/spec.hpp"
#include "policy/spec_error.hpp"

namespace qmd::policy {

// `file` is the name used in error messages. Returns every error found, not just the first.
std::expected<VmSpec, SpecErrors> parse_spec(const std::string& text, const std::string& file);
std::expected<VmSpec, SpecErrors> parse_spec_file(const std::string& path);
// The text of a spec file (at most 1 MiB), or an error naming the file.
std::expected<std::string, SpecErrors> read_spec_file(const std::string& path);

// What parse_spec read even when it found errors, so that later checks can report their
// errors in the same pass. `readable` is false when the text is no VM document at all (YAML
// syntax, several documents, not a mapping): then `spec` holds nothing worth checking.
struct PartialSpec {
  VmSpec spec;
  SpecErrors errors;  // sorted by position
  bool readable = false;
};
PartialSpec parse_spec_partial(const std::string& text, const std::string& file);

// Kubernetes quantities: "8Gi", "512Mi", "1G", "1024" (bytes); "500m", "2" (cpu).
std::expected<std::uint64_t, std::string> parse_bytes(const std::string& quantity);
std::expected<double, std::string> parse_cpu_quantity(const std::string& quantity);

}  // namespace qmd::policy
