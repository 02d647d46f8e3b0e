#include <doctest/doctest.h>

#include "tests/unit/policy/test_validate_fixture.hpp"

using namespace qmd::policy;
using namespace qmd::policy::test;

TEST_CASE("a minimal VM with defaults has no errors") {
  CHECK(errors_of(minimal_vm()) == "");
  CHECK(errors_of(vm_with_disk()) == "");
}

TEST_CASE("metadata.name is required and must be a DNS label") {
  auto spec = minimal_vm();
  spec.name = "";
  CHECK(errors_of(spec) == "metadata.name: is required (<spec>)\n");
  spec.name = "My_VM";
  CHECK(errors_of(spec) ==
        "metadata.name: \"My_VM\" is not a valid name: use at most 63 lowercase letters, digits "
        "and '-', starting and ending with a letter or digit (<spec>)\n");
  spec.name = "web-01";
  CHECK(errors_of(spec) == "");
}

TEST_CASE("ioThreadsPolicy is shared or auto") {
  auto spec = minimal_vm();
  for (const char* ok : {"shared", "auto"}) {
    spec.domain.io_threads_policy = ok;
    CHECK(errors_of(spec) == "");
  }
  spec.domain.io_threads_policy = "supplementalPool";
  CHECK(errors_of(spec) ==
        "spec.template.spec.domain.ioThreadsPolicy: supplementalPool is not "
        "supported; use shared or auto (<spec>)\n");
  spec.domain.io_threads_policy = "many";
  CHECK(errors_of(spec) ==
        "spec.template.spec.domain.ioThreadsPolicy: \"many\" is not one of "
        "shared, auto (<spec>)\n");
}

TEST_CASE("every error is reported, not just the first") {
  auto spec = minimal_vm();
  spec.name = "";
  spec.domain.cpu.cores = 0;
  spec.domain.io_threads_policy = "x";
  CHECK(validate_spec(spec, {}).size() == 3);
}
