// The destination's admission, the parts decided from facts alone.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "daemon/migration/admission.hpp"

using namespace qmd::daemon::migration;

TEST_CASE("the stream's way: unix on the same host (auto), or as asked") {
  const std::string here = "0b4a1e8e-6d0c-4c8e-9d1a-7a1d5f3f7e21";
  CHECK(stream_over_unix("auto", here, here));
  CHECK_FALSE(stream_over_unix("auto", "another-boot", here));
  CHECK_FALSE(stream_over_unix("auto", "", ""));  // an older source sends no boot id
  CHECK(stream_over_unix("unix", "", here));
  CHECK_FALSE(stream_over_unix("tcp", here, here));  // e2e_migrate: TCP on the loopback
}

TEST_CASE("a destination with the name (e2e_migrate): refused, unless it is coming back") {
  CHECK_FALSE(name_refusal("web", std::nullopt));
  CHECK_FALSE(name_refusal("web", "migrated"));  // the record of the move away: replaced
  CHECK(name_refusal("web", "running") ==
        "a VM named web exists on this qmd (running); delete or rename it here first");
  CHECK(name_refusal("web", "migrating").has_value());  // another arrival of the same name
}

TEST_CASE("the source's machine type must exist here") {
  const std::vector<std::string> here{"pc-q35-7.2", "pc-i440fx-7.2"};
  CHECK_FALSE(machine_type_refusal("web", "", here));  // an older source sends none
  CHECK_FALSE(machine_type_refusal("web", "pc-q35-7.2", here));
  CHECK(machine_type_refusal("web", "pc-q35-8.2", here) ==
        "VM web runs with machine type pc-q35-8.2 on the source, which this host's QEMU does "
        "not have; migrate to a host with the same or a newer QEMU");
}
