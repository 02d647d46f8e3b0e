#include <doctest/doctest.h>

#include "policy/source_map.hpp"

using namespace qmd::policy;

TEST_CASE("source map with nothing recorded gives no position") {
  SourceMap m;
  m.set_file("vm.yaml");
  auto e = m.error_at("domain.cpu.cores", "must be at least 1");
  CHECK(e.to_string() == "spec.template.spec.domain.cpu.cores: must be at least 1 (vm.yaml)");
}

TEST_CASE("source map finds the field or its nearest ancestor") {
  SourceMap m;
  m.set_file("vm.yaml");
  m.record("spec.template.spec.domain.devices.disks[1]", {40, 9});
  m.record("spec.template.spec.domain.devices.disks[1].cache", {41, 18});
  CHECK(m.error_at("domain.devices.disks[1].cache", "\"fast\" is not one of none, writethrough, "
                                                    "writeback")
            .to_string() ==
        "spec.template.spec.domain.devices.disks[1].cache: \"fast\" is not one of none, "
        "writethrough, writeback (vm.yaml:41:18)");
  CHECK(m.find("spec.template.spec.domain.devices.disks[1].bootOrder").line == 40);
  m.set_template_prefix("spec");
  CHECK(m.spec_path("domain") == "spec.domain");
}
