#include <doctest/doctest.h>

#include <algorithm>

#include "policy/host_caps.hpp"

using namespace qmd::policy;

TEST_CASE("a feature without dependencies has none") {
  CHECK(hyperv_dependencies("relaxed").empty());
  CHECK(hyperv_dependencies("no-such-feature").empty());
}

TEST_CASE("known Hyper-V features are unique and list dependencies first") {
  const auto& known = known_hyperv_features();
  CHECK(known == std::vector<std::string>{
                     "relaxed", "vapic", "spinlocks", "vpindex", "runtime", "synic", "time",
                     "stimer", "stimer-direct", "reset", "vendor-id", "frequencies",
                     "reenlightenment", "tlbflush", "tlbflush-ext", "ipi", "evmcs",
                     "tlbflush-direct", "passthrough", "crash"});
  for (std::size_t i = 0; i < known.size(); ++i) {
    for (const auto& dep : hyperv_dependencies(known[i])) {
      const auto at = std::ranges::find(known, dep);
      INFO(known[i] << " needs " << dep);
      REQUIRE(at != known.end());
      CHECK(static_cast<std::size_t>(at - known.begin()) < i);
    }
  }
  CHECK(hyperv_dependencies("stimer") == std::vector<std::string>{"synic", "time"});
  CHECK(hyperv_dependencies("evmcs") == std::vector<std::string>{"vapic"});
}
