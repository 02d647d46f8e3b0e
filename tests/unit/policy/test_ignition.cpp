// The kubevirt.io/ignitiondata annotation: read from either metadata, capped at 256 KiB with
// an error that names it.
#include <doctest/doctest.h>

#include "policy/ignition.hpp"
#include "policy/parse.hpp"

using namespace qmd::policy;

namespace {

std::string vm(const std::string& data) {
  return "apiVersion: kubevirt.io/v1\nkind: VirtualMachine\nmetadata: {name: core}\nspec:\n"
         "  template:\n    metadata:\n      annotations:\n"
         "        kubevirt.io/ignitiondata: '" +
         data + "'\n    spec:\n      domain: {devices: {}}\n";
}

}  // namespace

TEST_CASE("ignition: no annotation, no data and no error") {
  auto parsed = parse_spec(
      "apiVersion: kubevirt.io/v1\nkind: VirtualMachineInstance\nmetadata: {name: core}\n"
      "spec:\n  domain: {devices: {}}\n",
      "vm.yaml");
  REQUIRE(parsed);
  CHECK(!ignition_data(*parsed));
  SpecErrors errors;
  validate_ignition(*parsed, errors);
  CHECK(errors.empty());
}

TEST_CASE("ignition: the template's annotation, up to 256 KiB") {
  const std::string data = R"({"ignition":{"version":"3.3.0"}})";
  auto parsed = parse_spec(vm(data), "vm.yaml");
  REQUIRE_MESSAGE(parsed, (parsed ? "" : to_string(parsed.error())));
  CHECK(ignition_data(*parsed) == data);
  SpecErrors errors;
  validate_ignition(*parsed, errors);
  CHECK(errors.empty());

  parsed = parse_spec(vm(std::string(kIgnitionMaxBytes, 'x')), "vm.yaml");
  REQUIRE(parsed);
  validate_ignition(*parsed, errors);
  CHECK(errors.empty());
}

TEST_CASE("ignition: over 256 KiB is an error at the annotation") {
  auto parsed = parse_spec(vm(std::string(kIgnitionMaxBytes + 1, 'x')), "vm.yaml");
  REQUIRE(parsed);
  SpecErrors errors;
  validate_ignition(*parsed, errors);
  CHECK(to_string(errors) ==
        "spec.template.metadata.annotations.kubevirt.io/ignitiondata: is 262145 bytes, over "
        "the 256 KiB qmd passes to the guest (Kubernetes' own limit for all of an object's "
        "annotations) (vm.yaml:8:9)\n");
}
