// Which panic notifier a guest gets: hv-crash only for a Hyper-V (Windows) guest on a host
// whose probe accepted it; pvpanic otherwise.
#include <doctest/doctest.h>

#include "policy/panic_device.hpp"

using namespace qmd::policy;

namespace {

VmSpec windows() {
  VmSpec spec;
  spec.domain.features.hyperv = HypervFeatures{};
  return spec;
}

}  // namespace

TEST_CASE("panic notifier: a guest without Hyper-V gets pvpanic, whatever the host takes") {
  const std::map<std::string, bool> takes{{"crash", true}};
  CHECK(panic_notifier(VmSpec{}, &takes) == PanicNotifier::pvpanic);
  CHECK(panic_notifier(VmSpec{}, nullptr) == PanicNotifier::pvpanic);
}

TEST_CASE("panic notifier: a Hyper-V guest gets hv-crash where the host accepted it") {
  const std::map<std::string, bool> takes{{"crash", true}};
  CHECK(panic_notifier(windows(), &takes) == PanicNotifier::hv_crash);
  VmSpec passthrough;
  passthrough.domain.features.hyperv_passthrough = Toggle{};
  CHECK(panic_notifier(passthrough, &takes) == PanicNotifier::hv_crash);
}

TEST_CASE("panic notifier: pvpanic where hv-crash is refused, unprobed or turned off") {
  const std::map<std::string, bool> refuses{{"crash", false}};
  const std::map<std::string, bool> silent{{"relaxed", true}};
  CHECK(panic_notifier(windows(), &refuses) == PanicNotifier::pvpanic);
  CHECK(panic_notifier(windows(), &silent) == PanicNotifier::pvpanic);
  CHECK(panic_notifier(windows(), nullptr) == PanicNotifier::pvpanic);
  VmSpec off;
  off.domain.features.hyperv_passthrough = Toggle{};
  off.domain.features.hyperv_passthrough->enabled = false;
  const std::map<std::string, bool> takes{{"crash", true}};
  CHECK(panic_notifier(off, &takes) == PanicNotifier::pvpanic);
}
