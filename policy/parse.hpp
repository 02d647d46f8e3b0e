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

// Kubernetes quantities: "8Gi", "512Mi", "1G", "1024" (bytes); "500m", "2" (cpu).
std::expected<std::uint64_t, std::string> parse_bytes(const std::string& quantity);
std::expected<double, std::string> parse_cpu_quantity(const std::string& quantity);

}  // namespace qmd::policy
