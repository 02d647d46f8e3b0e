// A new definition against the NICs attached at run time: an interface of the same name with
// another binding is refused (it would stand for the NIC at the next adoption and leave its
// tap without its guard); the same binding, or another name, is fine.
#include <doctest/doctest.h>

#include <string>

#include "daemon/runtime/hot_nic_clash.hpp"
#include "devices/naming.hpp"
#include "policy/parse.hpp"

using qmd::daemon::hot_nic_clash;
using qmd::daemon::HotNic;

namespace {

qmd::policy::VmSpec with_interface(const std::string& name, const std::string& binding) {
  const std::string text =
      "apiVersion: kubevirt.io/v1\nkind: VirtualMachine\nmetadata: {name: vm1}\nspec:\n"
      "  template:\n    spec:\n      domain:\n        devices:\n          interfaces:\n"
      "          - {name: " + name + ", " + binding + ": {}}\n"
      "      networks:\n      - {name: " + name + ", pod: {}}\n";
  auto spec = qmd::policy::parse_spec(text, "vm1.yaml");
  REQUIRE_MESSAGE(spec, qmd::policy::to_string(spec.error()));
  return *spec;
}

const std::vector<HotNic> kHot{
    HotNic{"x", "masquerade", "", qmd::devices::bridge_tap_name("vm1", "x"), "02:00:00:5a:00:11"}};

}  // namespace

TEST_CASE("a definition naming a hot NIC with another binding is refused, naming both") {
  const auto clash = hot_nic_clash("vm1", kHot, with_interface("x", "masquerade"));
  CHECK_FALSE(clash.has_value());
  const auto user = hot_nic_clash("vm1", kHot, with_interface("x", "user"));
  REQUIRE(user.has_value());
  CHECK(user->find("interface x is attached at run time with binding masquerade") !=
        std::string::npos);
  CHECK(user->find("binding user") != std::string::npos);
  CHECK(user->find("qmctl detach-interface vm1 x") != std::string::npos);
}

TEST_CASE("a definition with other interface names, or no hot NICs, is not refused") {
  CHECK_FALSE(hot_nic_clash("vm1", kHot, with_interface("y", "user")).has_value());
  CHECK_FALSE(hot_nic_clash("vm1", {}, with_interface("x", "user")).has_value());
}
