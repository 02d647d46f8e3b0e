#include <doctest/doctest.h>

#include "tests/unit/policy/test_validate_fixture.hpp"

using namespace qmd::policy;
using namespace qmd::policy::test;

namespace {
const std::string kDomain = "spec.template.spec.domain.";

VmSpec efi_vm(bool smm) {
  auto spec = minimal_vm();
  spec.domain.firmware.bootloader = BootloaderKind::efi;
  if (smm) {
    spec.domain.features.smm = Toggle{true};
  }
  return apply_defaults(std::move(spec));
}
}  // namespace

TEST_CASE("bios without firmware extras has no errors") {
  auto spec = minimal_vm();
  CHECK(spec.domain.firmware.bootloader == BootloaderKind::bios);
  CHECK(errors_of(spec) == "");
}

TEST_CASE("machine types: q35, pc and their versioned names") {
  auto spec = minimal_vm();
  for (const char* ok : {"q35", "pc", "pc-q35-7.2", "pc-i440fx-8.0"}) {
    spec.domain.machine.type = ok;
    CHECK(errors_of(spec) == "");
  }
  spec.domain.machine.type = "virt";
  CHECK(errors_of(spec) == kDomain +
                               "machine.type: \"virt\" is not a machine type qmd supports; "
                               "use q35, pc, pc-q35-X.Y or pc-i440fx-X.Y (<spec>)\n");
}

TEST_CASE("firmware uuid is a UUID") {
  auto spec = minimal_vm();
  spec.domain.firmware.uuid = "5f1b6a7e-4a52-4b8e-9d1c-2f0e3a6b7c8d";
  CHECK(errors_of(spec) == "");
  spec.domain.firmware.uuid = "5f1b6a7e";
  CHECK(errors_of(spec) == kDomain +
                               "firmware.uuid: \"5f1b6a7e\" is not a UUID (like "
                               "123e4567-e89b-12d3-a456-426614174000) (<spec>)\n");
}

TEST_CASE("secure boot turns SMM on; only SMM turned off is an error; SMM on pc is fine") {
  CHECK(errors_of(efi_vm(true)) == "");
  const auto implied = efi_vm(false);
  CHECK(implied.domain.features.smm->enabled == true);
  CHECK(errors_of(implied) == "");
  auto off = minimal_vm();
  off.domain.firmware.bootloader = BootloaderKind::efi;
  off.domain.features.smm = Toggle{false};
  CHECK(errors_of(apply_defaults(off)) ==
        kDomain +
            "firmware.bootloader.efi.secureBoot: secure boot needs SMM, but "
            "spec.template.spec.domain.features.smm is disabled: remove smm.enabled: false, or "
            "set efi.secureBoot: false (<spec>)\n");
  off.domain.firmware.efi.secure_boot = false;
  CHECK(errors_of(apply_defaults(off)) == "");
  auto pc = efi_vm(true);
  pc.domain.machine.type = "pc";
  CHECK(errors_of(pc) == "");
}

TEST_CASE("persistent EFI variables and TPM state need a state directory") {
  auto spec = efi_vm(true);
  spec.domain.firmware.efi.persistent = true;
  spec.domain.devices.tpm = TpmDevice{true, true};
  RunPolicy with_state;
  with_state.state_dir = "/var/lib/qmd";
  CHECK(errors_of(spec, with_state) == "");
  CHECK(errors_of(spec) ==
        kDomain +
            "firmware.bootloader.efi.persistent: persistent EFI variables need a state "
            "directory, and qmd has none configured; set persistent: false or configure "
            "a state directory (<spec>)\n" +
            kDomain +
            "devices.tpm.persistent: a persistent TPM needs a state directory, and "
            "qmd has none configured; set persistent: false or configure a state "
            "directory (<spec>)\n");
}

TEST_CASE("kernel boot needs an absolute kernel path; efi is allowed with it") {
  auto spec = efi_vm(true);
  spec.domain.firmware.kernel_boot = KernelBoot{"/boot/vmlinuz", "/boot/initrd.img", "quiet"};
  CHECK(errors_of(spec) == "");
  spec.domain.firmware.kernel_boot = KernelBoot{"", "initrd.img", ""};
  CHECK(errors_of(spec) ==
        kDomain + "firmware.kernelBoot: needs kernelPath, the kernel image to boot (<spec>)\n" +
            kDomain +
            "firmware.kernelBoot.initrdPath: \"initrd.img\" must be an absolute path "
            "(<spec>)\n");
}

TEST_CASE("launch security needs q35 and UEFI without secure boot") {
  auto spec = efi_vm(false);
  spec.domain.firmware.efi.secure_boot = false;
  spec.domain.launch_security.kind = LaunchSecurityKind::sev;
  CHECK(errors_of(spec) == "");
  spec.domain.machine.type = "pc";
  spec.domain.firmware.efi.secure_boot = true;
  spec.domain.features.smm = Toggle{true};
  CHECK(errors_of(spec) ==
        kDomain + "launchSecurity.sev: SEV needs machine type q35 (is \"pc\") (<spec>)\n" +
            kDomain +
            "firmware.bootloader.efi.secureBoot: SEV does not work with secure boot; "
            "set secureBoot: false (<spec>)\n");
  auto bios = minimal_vm();
  bios.domain.launch_security.kind = LaunchSecurityKind::tdx;
  CHECK(errors_of(bios) == kDomain +
                               "launchSecurity.tdx: TDX needs UEFI: set "
                               "domain.firmware.bootloader.efi.secureBoot: false "
                               "(<spec>)\n");
}
