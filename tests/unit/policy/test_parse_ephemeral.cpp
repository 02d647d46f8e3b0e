// KubeVirt's ephemeral volume: ephemeral.persistentVolumeClaim.claimName becomes the claim
// qmd runs under a per-run overlay; a missing or misspelt field is an error at its line:column.
#include <doctest/doctest.h>

#include "policy/parse.hpp"

using namespace qmd::policy;

namespace {

std::string vmi(const std::string& volume) {
  return "apiVersion: kubevirt.io/v1\nkind: VirtualMachineInstance\nmetadata: {name: t}\n"
         "spec:\n  domain: {devices: {disks: [{name: d, disk: {}}]}}\n  volumes:\n"
         "  - name: d\n" +
         volume;
}

std::string errors(const std::string& volume) {
  auto parsed = parse_spec(vmi(volume), "vm.yaml");
  return parsed ? std::string("(ok)") : to_string(parsed.error());
}

}  // namespace

TEST_CASE("ephemeral: the claim under it is read, readOnly accepted") {
  auto parsed = parse_spec(
      vmi("    ephemeral: {persistentVolumeClaim: {claimName: web, readOnly: false}}\n"),
      "vm.yaml");
  REQUIRE_MESSAGE(parsed, (parsed ? "" : to_string(parsed.error())));
  REQUIRE(parsed->volumes.size() == 1);
  CHECK(parsed->volumes[0].kind == VolumeKind::ephemeral);
  CHECK(parsed->volumes[0].claim_name == "web");
}

TEST_CASE("ephemeral: no claim, no claimName, an unknown field: each at its line:column") {
  CHECK(errors("    ephemeral: {}\n").find("ephemeral") != std::string::npos);
  CHECK(errors("    ephemeral: {}\n").find("persistentVolumeClaim") != std::string::npos);
  CHECK(errors("    ephemeral: {}\n").find("vm.yaml:8:") != std::string::npos);
  const auto no_name = errors("    ephemeral: {persistentVolumeClaim: {}}\n");
  CHECK(no_name.find("claimName") != std::string::npos);
  CHECK(no_name.find("vm.yaml:8:") != std::string::npos);
  const auto unknown = errors("    ephemeral: {persistentVolumeClaim: {claimName: a, size: 1}}\n");
  CHECK(unknown.find("size") != std::string::npos);
  CHECK(unknown.find("vm.yaml:8:") != std::string::npos);
}
