// Every error in one pass: parse errors do not hide the validation errors of what parsed.
#include <doctest/doctest.h>

#include <string>

#include "policy/all_errors.hpp"

using namespace qmd::policy;

namespace {

constexpr const char* kHead = R"(apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata: {name: t}
spec:
  domain:
)";

std::string all(const std::string& text) {
  static const PresetCatalog catalog = *PresetCatalog::load();
  return to_string(all_errors(parse_spec_partial(text, "vm.yaml"), catalog, RunPolicy{}));
}

}  // namespace

TEST_CASE("a valid spec has no errors, and parse_spec_partial returns it whole") {
  const auto parsed =
      parse_spec_partial(std::string(kHead) + "    memory: {guest: 1Gi}\n", "vm.yaml");
  CHECK(parsed.readable);
  CHECK(parsed.errors.empty());
  CHECK(parsed.spec.domain.memory.guest == 1024 * 1024 * 1024);
  CHECK(all(std::string(kHead) + "    memory: {guest: 1Gi}\n") == "");
}

TEST_CASE("an unknown field does not hide the errors after it") {
  CHECK(all(std::string(kHead) +
            "    cpu: {cores: 0, sockts: 1}\n"
            "    memory: {guest: 8Mi}\n"
            "    devices:\n"
            "      disks: [{name: a, cache: fast}]\n"
            "  volumes: [{name: a, file: {path: relative.img}}]\n") ==
        "spec.domain.cpu.cores: must be at least 1 (vm.yaml:6:11)\n"
        "spec.domain.cpu.sockts: unknown field \"sockts\" (did you mean \"sockets\"?) "
        "(vm.yaml:6:21)\n"
        "spec.domain.memory.guest: is 8Mi; a guest needs at least 16Mi (vm.yaml:7:14)\n"
        "spec.domain.devices.disks[0].cache: \"fast\" is not one of none, writethrough, "
        "writeback (vm.yaml:9:25)\n"
        "spec.volumes[0].file.path: \"relative.img\" must be an absolute path (vm.yaml:10:30)\n");
}

TEST_CASE("a later error about a field the parser refused is not repeated") {
  // guest has a bad quantity: "guest is required" would only repeat it.
  CHECK(all(std::string(kHead) + "    memory: {guest: 1GB}\n    cpu: {cores: 0}\n") ==
        "spec.domain.memory.guest: \"1GB\" is not a byte quantity: use a whole number of bytes "
        "or a number with a suffix Ki, Mi, Gi, Ti, Pi, Ei (powers of 1024) or k, M, G, T, P, E "
        "(powers of 1000), such as 8Gi, 512Mi or 1.5G (vm.yaml:6:21)\n"
        "spec.domain.cpu.cores: must be at least 1 (vm.yaml:7:11)\n");
}

TEST_CASE("text that is no VM document gets its parse error only") {
  CHECK(all("[1, 2]\n") ==
        "expected a VirtualMachine or VirtualMachineInstance: a mapping with apiVersion, kind, "
        "metadata and spec, got a list (vm.yaml:1:1)\n");
  CHECK(all("apiVersion: kubevirt.io/v1\nkind: Pod\nmetadata: {name: p}\nspec: {}\n") ==
        "kind: \"Pod\" is not supported: use VirtualMachine or VirtualMachineInstance "
        "(vm.yaml:2:7)\n");
}
