// Machine type, firmware (EFI, secure boot, kernel boot, UUID) and launch security.
#include <fmt/format.h>

#include <regex>

#include "policy/validate_rules.hpp"

namespace qmd::policy::rules {
namespace {

bool is_q35(const std::string& type) { return type == "q35" || type.starts_with("pc-q35-"); }

void validate_machine(const VmSpec& spec, SpecErrors& errors) {
  static const std::regex kMachine(R"(q35|pc|pc-q35-\d+\.\d+|pc-i440fx-\d+\.\d+)");
  const auto& type = spec.domain.machine.type;
  if (type && !std::regex_match(*type, kMachine)) {
    errors.push_back(spec.source.error_at(
        "domain.machine.type",
        fmt::format("\"{}\" is not a machine type qmd supports; use q35, pc, pc-q35-X.Y or "
                    "pc-i440fx-X.Y",
                    *type)));
  }
}

void validate_efi(const VmSpec& spec, const RunPolicy& policy, SpecErrors& errors) {
  const auto& fw = spec.domain.firmware;
  if (fw.bootloader != BootloaderKind::efi) {
    return;
  }
  // SMM is turned on for secure boot unless the spec turns it off (apply_defaults).
  if (fw.efi.secure_boot.value_or(true) && !is_on(spec.domain.features.smm)) {
    errors.push_back(spec.source.error_at(
        "domain.firmware.bootloader.efi.secureBoot",
        fmt::format("secure boot needs SMM, but {} is disabled: remove smm.enabled: false, or "
                    "set efi.secureBoot: false",
                    spec.source.spec_path("domain.features.smm"))));
  }
  if (fw.efi.persistent.value_or(false) && policy.state_dir.empty()) {
    errors.push_back(spec.source.error_at(
        "domain.firmware.bootloader.efi.persistent",
        "persistent EFI variables need a state directory, and qmd has none configured; set "
        "persistent: false or configure a state directory"));
  }
}

void validate_kernel_boot(const VmSpec& spec, SpecErrors& errors) {
  const auto& kb = spec.domain.firmware.kernel_boot;
  if (!kb) {
    return;
  }
  if (kb->kernel_path.empty()) {
    errors.push_back(spec.source.error_at("domain.firmware.kernelBoot",
                                          "needs kernelPath, the kernel image to boot"));
  }
  for (auto [name, path] :
       {std::pair{"kernelPath", &kb->kernel_path}, std::pair{"initrdPath", &kb->initrd_path}}) {
    if (!path->empty() && !is_absolute_path(*path)) {
      errors.push_back(spec.source.error_at(fmt::format("domain.firmware.kernelBoot.{}", name),
                                            fmt::format("\"{}\" must be an absolute path", *path)));
    }
  }
}

void validate_uuid(const VmSpec& spec, SpecErrors& errors) {
  static const std::regex kUuid(
      "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");
  const auto& uuid = spec.domain.firmware.uuid;
  if (uuid && !std::regex_match(*uuid, kUuid)) {
    errors.push_back(spec.source.error_at(
        "domain.firmware.uuid",
        fmt::format("\"{}\" is not a UUID (like 123e4567-e89b-12d3-a456-426614174000)", *uuid)));
  }
}

// Confidential guests boot through OVMF on q35, and OVMF's SEV builds have no secure boot.
// Whether the host can run them is check_host's business.
void validate_launch_security(const VmSpec& spec, SpecErrors& errors) {
  const auto& ls = spec.domain.launch_security;
  if (ls.kind == LaunchSecurityKind::none) {
    return;
  }
  const char* key = ls.kind == LaunchSecurityKind::sev   ? "sev"
                    : ls.kind == LaunchSecurityKind::snp ? "snp"
                                                         : "tdx";
  const char* label = ls.kind == LaunchSecurityKind::sev   ? "SEV"
                      : ls.kind == LaunchSecurityKind::snp ? "SEV-SNP"
                                                           : "TDX";
  const auto rel = fmt::format("domain.launchSecurity.{}", key);
  const auto& type = spec.domain.machine.type;
  if (type && !is_q35(*type)) {
    errors.push_back(spec.source.error_at(
        rel, fmt::format("{} needs machine type q35 (is \"{}\")", label, *type)));
  }
  const auto& fw = spec.domain.firmware;
  if (fw.bootloader != BootloaderKind::efi) {
    errors.push_back(spec.source.error_at(
        rel,
        fmt::format("{} needs UEFI: set domain.firmware.bootloader.efi.secureBoot: false", label)));
  } else if (fw.efi.secure_boot.value_or(true)) {
    errors.push_back(spec.source.error_at(
        "domain.firmware.bootloader.efi.secureBoot",
        fmt::format("{} does not work with secure boot; set secureBoot: false", label)));
  }
}

}  // namespace

void validate_machine_firmware(const VmSpec& spec, const RunPolicy& policy, SpecErrors& errors) {
  validate_machine(spec, errors);
  validate_uuid(spec, errors);
  validate_efi(spec, policy, errors);
  validate_kernel_boot(spec, errors);
  validate_launch_security(spec, errors);
}

}  // namespace qmd::policy::rules
