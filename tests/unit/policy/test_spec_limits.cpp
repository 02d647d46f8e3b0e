#include <doctest/doctest.h>

#include <string>

#include "policy/spec_limits.hpp"
#include "tests/unit/policy/test_validate_fixture.hpp"

using namespace qmd::policy;
using namespace qmd::policy::test;

TEST_CASE("nesting: a spec with no flow collections passes") {
  CHECK_FALSE(check_nesting("a:\n  b:\n    c: 1\n", "vm.yaml"));
  CHECK_FALSE(check_nesting("", "vm.yaml"));
}

TEST_CASE("nesting: flow collections up to the limit pass, one more fails at its line:column") {
  const std::string ok = std::string(4, '[') + std::string(4, ']');
  CHECK_FALSE(check_nesting(ok, "vm.yaml", 4));
  const std::string deep = "x:\n  " + std::string(5, '[') + std::string(5, ']');
  const auto error = check_nesting(deep, "vm.yaml", 4);
  REQUIRE(error);
  CHECK(error->file == "vm.yaml");
  CHECK(error->mark.line == 2);
  CHECK(error->mark.column == 7);
  CHECK(error->message ==
        "the document nests collections more than 4 levels deep; a VM spec needs far fewer");
}

TEST_CASE("nesting: JSON objects and arrays count alike; siblings do not add up") {
  CHECK(check_nesting(R"({"a":{"b":[{"c":[1]}]}})", "body", 4));
  CHECK_FALSE(check_nesting(R"({"a":[1],"b":[2],"c":[3],"d":[4],"e":[5]})", "body", 2));
}

TEST_CASE("nesting: brackets in strings, comments and plain scalars are not collections") {
  CHECK_FALSE(check_nesting("a: \"[[[[[[\"\nb: '{{{{{{'\n# [[[[[[\nc: x [[[[[[ y\n", "vm.yaml", 2));
  CHECK_FALSE(check_nesting(R"(a: ["[[[[", '{{{{', "\"[[[["])", "vm.yaml", 2));
  CHECK_FALSE(check_nesting("a: 'it''s [[[['\n", "vm.yaml", 2));
}

TEST_CASE("nesting: a 200 KB deeply nested body is refused without recursion") {
  const std::string body = std::string(100000, '[') + std::string(100000, ']');
  const auto error = check_nesting(body, "body");
  REQUIRE(error);
  CHECK(error->mark.column == static_cast<int>(kMaxSpecNesting) + 1);
}

TEST_CASE("device count: a minimal VM passes; one device over the limit names the counts") {
  CHECK_FALSE(check_device_count(minimal_vm(), "vm.yaml"));
  auto spec = minimal_vm();
  spec.domain.devices.interfaces.clear();  // the default pod network and its interface
  spec.networks.clear();
  for (int i = 0; i < 3; ++i) {
    spec.volumes.push_back(file_volume("d" + std::to_string(i)));
    spec.domain.devices.disks.push_back(disk("d" + std::to_string(i)));
  }
  CHECK_FALSE(check_device_count(spec, "vm.yaml", 6));
  const auto error = check_device_count(spec, "vm.yaml", 5);
  REQUIRE(error);
  CHECK(error->path == "spec.template.spec.domain.devices");
  CHECK(error->message ==
        "declares 6 devices (3 disks, 0 interfaces, 0 inputs, 3 volumes, 0 networks); a VM may "
        "have at most 5 in all");
}

TEST_CASE("nesting: an anchor or a tag before a flow collection does not hide it") {
  CHECK(check_nesting("a: &x [[[[[1]]]]]\n", "vm.yaml", 4));
  CHECK(check_nesting("a: !t [[[[[1]]]]]\n", "vm.yaml", 4));
  CHECK(check_nesting("a: &x\n  [[[[[1]]]]]\n", "vm.yaml", 4));
  CHECK(check_nesting("a: [&x [[[[1]]]]]\n", "vm.yaml", 4));
  CHECK_FALSE(check_nesting("a: &x [[1]]\nb: c\n", "vm.yaml", 4));
}

TEST_CASE("nesting: an alias is refused at its line:column, a '*' in a scalar is not one") {
  const auto alias = check_nesting("a: &x [1]\nb: *x\n", "vm.yaml");
  REQUIRE(alias);
  CHECK(alias->mark.line == 2);
  CHECK(alias->mark.column == 4);
  CHECK(alias->message.starts_with("a YAML alias (*name) is not accepted"));
  CHECK(check_nesting("a: [1, *x]\n", "vm.yaml"));
  CHECK(check_nesting("- *x\n", "vm.yaml"));
  CHECK_FALSE(check_nesting("a: b*c\nd: \"*e\"\nf: 2 # *g\n", "vm.yaml"));
}

TEST_CASE("nesting: a block scalar's text holds no alias and no collection") {
  const std::string cron = "a:\n  userData: |\n    #cloud-config\n    */5 * * * * root x\n"
                           "    - * [[[[[[1]]]]]]\n\n    end\n  b: 1\n";
  CHECK_FALSE(check_nesting(cron, "vm.yaml", 4));
  CHECK_FALSE(check_nesting("- path: /x\n  content: >-\n    * {[{[{[ ]}]}]}\n- path: /y\n",
                            "vm.yaml", 2));
  // What follows the scalar at the key's own indentation is scanned again.
  const auto sibling = check_nesting("- a: |\n    x\n  b: *alias\n", "vm.yaml");
  REQUIRE(sibling);
  CHECK(sibling->mark.line == 3);
  CHECK(check_nesting("a: |\n  x\nb: [[[[[1]]]]]\n", "vm.yaml", 4));
}
