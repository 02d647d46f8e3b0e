#include <doctest/doctest.h>

#include "policy/tsc.hpp"

using namespace qmd::policy;

TEST_CASE("which -cpu values fix the guest's TSC frequency") {
  CHECK(cpu_needs_fixed_tsc("host,hv-relaxed,hv-frequencies"));
  CHECK(cpu_needs_fixed_tsc("host,hv-reenlightenment"));
  CHECK(cpu_needs_fixed_tsc("Skylake-Server,+invtsc"));
  CHECK(cpu_needs_fixed_tsc("Skylake-Server,invtsc=on"));
  CHECK_FALSE(cpu_needs_fixed_tsc("host,hv-relaxed,hv-time"));
  CHECK_FALSE(cpu_needs_fixed_tsc("host,-invtsc"));
  CHECK_FALSE(cpu_needs_fixed_tsc("host,hv-frequencies=off"));
  CHECK_FALSE(cpu_needs_fixed_tsc("invtsc"));  // a model name, not a feature
  // An escaped comma inside a value is not an option boundary.
  CHECK_FALSE(cpu_needs_fixed_tsc("host,hv-vendor-id=a,,invtsc"));
}

TEST_CASE("tsc-frequency is read from a -cpu value") {
  CHECK(cpu_tsc_frequency("host,hv-frequencies,tsc-frequency=2000000000") == 2000000000ULL);
  CHECK(cpu_tsc_frequency("host,tsc-frequency=2400000000,kvm=off") == 2400000000ULL);
  CHECK_FALSE(cpu_tsc_frequency("host,hv-frequencies"));
  CHECK_FALSE(cpu_tsc_frequency("host,tsc-frequency="));
  CHECK_FALSE(cpu_tsc_frequency("host,tsc-frequency=2GHz"));
  CHECK_FALSE(cpu_tsc_frequency("host,tsc-frequency=0"));
}

TEST_CASE("tsc-frequency is replaced or appended, everything else kept") {
  CHECK(with_tsc_frequency("host,hv-frequencies,tsc-frequency=2000000000,kvm=off", 2400000000) ==
        "host,hv-frequencies,tsc-frequency=2400000000,kvm=off");
  CHECK(with_tsc_frequency("host,hv-vendor-id=a,,b,hv-frequencies", 2400000000) ==
        "host,hv-vendor-id=a,,b,hv-frequencies,tsc-frequency=2400000000");
}

TEST_CASE("a destination presents the source's TSC frequency, or is refused") {
  HostCaps dest;
  dest.tsc_khz = 2000000;
  SUBCASE("the same frequency") { CHECK_FALSE(tsc_refusal(2000000000, dest)); }
  SUBCASE("within KVM's 250 ppm, either way") {
    CHECK_FALSE(tsc_refusal(2000500000, dest));
    CHECK_FALSE(tsc_refusal(1999500000, dest));
  }
  SUBCASE("beyond 250 ppm without scaling") {
    CHECK(tsc_refusal(2000501000, dest) ==
          "the guest's TSC runs at 2000501 kHz and this host's at 2000000 kHz, with no TSC "
          "scaling");
    CHECK(tsc_refusal(2400000000, dest).has_value());
    CHECK(tsc_refusal(1999499000, dest).has_value());
  }
  SUBCASE("unknown without scaling") {
    dest.tsc_khz = 0;
    CHECK(tsc_refusal(2400000000, dest) ==
          "the guest's TSC runs at 2400000 kHz and this host's TSC frequency is unknown, with "
          "no TSC scaling");
  }
  SUBCASE("scaling presents any frequency, known or not") {
    dest.tsc_scaling = true;
    CHECK_FALSE(tsc_refusal(2400000000, dest));
    dest.tsc_khz = 0;
    CHECK_FALSE(tsc_refusal(2400000000, dest));
  }
}
