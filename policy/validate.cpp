// validate_spec: runs every concern's rules and collects all errors. The rules themselves
// live in validate_<concern>.cpp.
#include "policy/validate.hpp"

#include <fmt/format.h>

#include <regex>

#include "policy/ignition.hpp"
#include "policy/validate_rules.hpp"

namespace qmd::policy {
namespace rules {

bool is_one_of(std::string_view value, std::initializer_list<std::string_view> allowed) {
  for (auto a : allowed) {
    if (a == value) {
      return true;
    }
  }
  return false;
}

std::string not_one_of(std::string_view value, std::initializer_list<std::string_view> allowed) {
  std::string list;
  for (auto a : allowed) {
    list += list.empty() ? "" : ", ";
    list += a;
  }
  return fmt::format("\"{}\" is not one of {}", value, list);
}

void check_one_of(const VmSpec& spec, const std::string& rel,
                  const std::optional<std::string>& value,
                  std::initializer_list<std::string_view> allowed, SpecErrors& errors) {
  if (value && !is_one_of(*value, allowed)) {
    errors.push_back(spec.source.error_at(rel, not_one_of(*value, allowed)));
  }
}

std::string format_bytes(std::uint64_t bytes) {
  constexpr std::uint64_t kKi = 1024;
  if (bytes == 0) {
    return "0";
  }
  for (auto [unit, size] :
       {std::pair{"Ti", kKi * kKi * kKi * kKi}, std::pair{"Gi", kKi * kKi * kKi},
        std::pair{"Mi", kKi * kKi}, std::pair{"Ki", kKi}}) {
    if (bytes % size == 0) {
      return fmt::format("{}{}", bytes / size, unit);
    }
  }
  return fmt::format("{}", bytes);
}

bool is_absolute_path(std::string_view path) { return !path.empty() && path.front() == '/'; }

}  // namespace rules

namespace {

// metadata.name becomes file and socket names: keep it a DNS-1123 label like Kubernetes does.
void validate_metadata(const VmSpec& spec, SpecErrors& errors) {
  static const std::regex kLabel("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
  if (spec.name.empty()) {
    errors.push_back(spec.source.error_at_full("metadata.name", "is required"));
  } else if (spec.name.size() > 63 || !std::regex_match(spec.name, kLabel)) {
    errors.push_back(spec.source.error_at_full(
        "metadata.name",
        fmt::format("\"{}\" is not a valid name: use at most 63 lowercase letters, digits and "
                    "'-', starting and ending with a letter or digit",
                    spec.name)));
  }
}

// Device names become QEMU node ids, file names (emptyDisk's empty-NAME.img) and socket
// names: identifiers only, so none can carry a '/' or '..' anywhere. The limits: QEMU's
// 31-character node names less qmd's prefixes for disks and volumes.
constexpr std::size_t kMaxDeviceName = 24;
constexpr std::size_t kMaxNetworkName = 63;

// `mixed_case`: interface and network names, which become QEMU ids only; KubeVirt's own
// examples name them in camel case (testSlirp).
void check_identifier(const VmSpec& spec, const std::string& rel, const std::string& name,
                      std::size_t max, SpecErrors& errors, bool mixed_case = false) {
  static const std::regex kIdentifier("[a-z0-9][-a-z0-9]*");
  static const std::regex kMixed("[a-zA-Z0-9][-a-zA-Z0-9]*");
  if (name.empty()) {
    return;  // the parser reports a missing name
  }
  if (name.size() > max || !std::regex_match(name, mixed_case ? kMixed : kIdentifier)) {
    errors.push_back(spec.source.error_at(
        rel, fmt::format("\"{}\" is not a name qmd accepts: use 1 to {} {}letters, "
                         "digits and '-', starting with a letter or digit",
                         name, max, mixed_case ? "" : "lower-case ")));
  }
}

void validate_names(const VmSpec& spec, SpecErrors& errors) {
  const auto& devices = spec.domain.devices;
  for (std::size_t i = 0; i < devices.disks.size(); ++i) {
    if (devices.disks[i].for_volume) {
      continue;  // added for a volume of that name, which is checked (and named) below
    }
    check_identifier(spec, fmt::format("domain.devices.disks[{}].name", i),
                     devices.disks[i].name, kMaxDeviceName, errors);
  }
  for (std::size_t i = 0; i < spec.volumes.size(); ++i) {
    check_identifier(spec, fmt::format("volumes[{}].name", i), spec.volumes[i].name,
                     kMaxDeviceName, errors);
  }
  for (std::size_t i = 0; i < devices.interfaces.size(); ++i) {
    check_identifier(spec, fmt::format("domain.devices.interfaces[{}].name", i),
                     devices.interfaces[i].name, kMaxNetworkName, errors, true);
  }
  for (std::size_t i = 0; i < spec.networks.size(); ++i) {
    check_identifier(spec, fmt::format("networks[{}].name", i), spec.networks[i].name,
                     kMaxNetworkName, errors, true);
  }
}

void validate_io_threads_policy(const VmSpec& spec, SpecErrors& errors) {
  const auto& policy = spec.domain.io_threads_policy;
  if (policy == "supplementalPool") {
    errors.push_back(spec.source.error_at("domain.ioThreadsPolicy",
                                          "supplementalPool is not supported; use shared or auto"));
    return;
  }
  rules::check_one_of(spec, "domain.ioThreadsPolicy", policy, {"shared", "auto"}, errors);
}

}  // namespace

SpecErrors validate_spec(const VmSpec& spec, const RunPolicy& policy) {
  SpecErrors errors;
  validate_metadata(spec, errors);
  validate_names(spec, errors);
  rules::validate_cpu_memory(spec, errors);
  rules::validate_cpu_features(spec, errors);
  rules::validate_machine_firmware(spec, policy, errors);
  rules::validate_clock(spec, errors);
  rules::validate_features(spec, errors);
  rules::validate_devices(spec, policy, errors);
  rules::validate_networks(spec, policy, errors);
  rules::validate_volumes(spec, errors);
  validate_ignition(spec, errors);
  validate_io_threads_policy(spec, errors);
  return errors;
}

}  // namespace qmd::policy
