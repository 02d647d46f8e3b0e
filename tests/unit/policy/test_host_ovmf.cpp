#include <doctest/doctest.h>

#include "policy/host_caps.hpp"

using namespace qmd::policy;

TEST_CASE("a host without OVMF has nothing to select") {
  HostCaps host;
  CHECK(select_ovmf(host, true) == nullptr);
  CHECK(select_ovmf(host, false) == nullptr);
}

TEST_CASE("select_ovmf prefers enrolled keys for secure boot and a plain build otherwise") {
  HostCaps host;
  host.ovmf = {{"/o/SB.fd", "/o/V.fd", true, false, true},
               {"/o/PLAIN.fd", "/o/V.fd", false, false, true},
               {"/o/SB2M.ms.fd", "/o/V2M.ms.fd", true, true, false},
               {"/o/MS.fd", "/o/V.ms.fd", true, true, true}};
  REQUIRE(select_ovmf(host, true) != nullptr);
  CHECK(select_ovmf(host, true)->code == "/o/MS.fd");
  REQUIRE(select_ovmf(host, false) != nullptr);
  CHECK(select_ovmf(host, false)->code == "/o/PLAIN.fd");
  host.ovmf.erase(host.ovmf.begin() + 1);
  CHECK(select_ovmf(host, false) == nullptr);
}

TEST_CASE("select_ovmf without secure boot prefers a build with no keys enrolled") {
  HostCaps host;
  // A descriptor may offer secure boot without SMM: not a secure-boot build to qmd.
  host.ovmf = {{"/o/NOSMM.ms.fd", "/o/V.ms.fd", false, true, true},
               {"/o/PLAIN.fd", "/o/V.fd", false, false, true}};
  REQUIRE(select_ovmf(host, false) != nullptr);
  CHECK(select_ovmf(host, false)->code == "/o/PLAIN.fd");
}
