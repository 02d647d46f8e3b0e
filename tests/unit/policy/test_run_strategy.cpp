// runStrategy: KubeVirt's values, and its rule that running and runStrategy exclude each other.
#include <doctest/doctest.h>

#include "policy/parse.hpp"

using namespace qmd::policy;

namespace {

std::string errors(const std::string& vm_fields) {
  auto parsed = parse_spec("apiVersion: kubevirt.io/v1\nkind: VirtualMachine\nmetadata: {name: t}\n"
                           "spec:\n" + vm_fields +
                               "  template:\n    spec:\n      domain: {devices: {}}\n",
                           "vm.yaml");
  return parsed ? std::string("(ok)") : to_string(parsed.error());
}

}  // namespace

TEST_CASE("runStrategy: KubeVirt's values") {
  for (auto strategy : {"Always", "RerunOnFailure", "Manual", "Halted", "Once"}) {
    CHECK(errors(std::string("  runStrategy: ") + strategy + "\n") == "(ok)");
  }
  CHECK(errors("  runStrategy: Sometimes\n") ==
        "spec.runStrategy: \"Sometimes\" is not a run strategy: use Always (restart on any exit), "
        "RerunOnFailure (restart after a crash), Manual, Once or Halted (vm.yaml:5:16)\n");
  CHECK(errors("  runStrategy: WaitAsReceiver\n") ==
        "spec.runStrategy: WaitAsReceiver marks a KubeVirt migration target; qmd makes its "
        "migration targets itself (qmctl migrate): use Always, RerunOnFailure, Manual or Halted "
        "(vm.yaml:5:16)\n");
  CHECK(errors("  running: true\n  runStrategy: Always\n") ==
        "spec.runStrategy: cannot be set together with spec.running (KubeVirt refuses both): "
        "keep runStrategy and remove running (vm.yaml:6:16)\n");
}
