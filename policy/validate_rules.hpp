#pragma once
// Internal to policy/validate*.cpp: one function per concern, each appending to `errors`,
// and the few helpers they share. Paths are relative to the VMI spec ("domain.cpu.cores").
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "policy/spec.hpp"
#include "policy/validate.hpp"

namespace qmd::policy::rules {

// A KubeVirt toggle is on when present and not `enabled: false`.
inline bool is_on(const std::optional<Toggle>& t) { return t && t->enabled.value_or(true); }

bool is_one_of(std::string_view value, std::initializer_list<std::string_view> allowed);
// `"fast" is not one of none, writethrough, writeback`
std::string not_one_of(std::string_view value, std::initializer_list<std::string_view> allowed);
// Appends not_one_of at `rel` when `value` is set and not allowed.
void check_one_of(const VmSpec& spec, const std::string& rel,
                  const std::optional<std::string>& value,
                  std::initializer_list<std::string_view> allowed, SpecErrors& errors);

// 1073741824 -> "1Gi", 1536 Mi -> "1536Mi", odd sizes in bytes.
std::string format_bytes(std::uint64_t bytes);
bool is_absolute_path(std::string_view path);

void validate_cpu_memory(const VmSpec& spec, SpecErrors& errors);
void validate_cpu_features(const VmSpec& spec, SpecErrors& errors);
void validate_machine_firmware(const VmSpec& spec, const RunPolicy& policy, SpecErrors& errors);
void validate_clock(const VmSpec& spec, SpecErrors& errors);
void validate_features(const VmSpec& spec, SpecErrors& errors);
void validate_devices(const VmSpec& spec, const RunPolicy& policy, SpecErrors& errors);
void validate_networks(const VmSpec& spec, const RunPolicy& policy, SpecErrors& errors);
void validate_volumes(const VmSpec& spec, SpecErrors& errors);
// interfaces[i].ports (validate_ports.cpp); called by validate_networks.
void validate_ports(const VmSpec& spec, std::size_t i, const InterfaceDevice& nic,
                    SpecErrors& errors);

}  // namespace qmd::policy::rules
