#include <doctest/doctest.h>

#include "tests/unit/policy/test_validate_fixture.hpp"

using namespace qmd::policy;
using namespace qmd::policy::test;

namespace {
const std::string kHv = "spec.template.spec.domain.features.hyperv.";

VmSpec hyperv_vm(HypervFeatures hv, bool hyperv_timer = true) {
  auto spec = minimal_vm();
  spec.domain.features.hyperv = std::move(hv);
  if (hyperv_timer) {
    spec.domain.clock.hyperv = Timer{};
  }
  return apply_defaults(std::move(spec));
}

SyncTimer stimer(bool direct) {
  SyncTimer t;
  t.direct_set = direct;
  return t;
}
}  // namespace

TEST_CASE("no hyperv section has no errors") { CHECK(errors_of(minimal_vm()) == ""); }

TEST_CASE("the full Windows set of enlightenments is consistent") {
  HypervFeatures hv;
  hv.relaxed = hv.vapic = hv.vpindex = hv.runtime = hv.synic = hv.reset = hv.frequencies =
      hv.reenlightenment = hv.ipi = hv.evmcs = Toggle{};
  hv.spinlocks = Spinlocks{true, 8191};
  hv.synictimer = stimer(true);
  hv.vendorid = VendorId{true, "KVMKVMKVM"};
  hv.tlbflush = TlbFlush{std::nullopt, true, {}, true, {}};
  CHECK(errors_of(hyperv_vm(hv)) == "");
}

TEST_CASE("synic needs vpindex; stimer needs synic and the hyperv timer, when turned off") {
  HypervFeatures hv;
  hv.synic = Toggle{};
  hv.vpindex = Toggle{false};
  hv.synictimer = stimer(false);
  auto spec = minimal_vm();
  spec.domain.features.hyperv = hv;
  spec.domain.clock.hyperv.emplace().present = false;
  CHECK(errors_of(apply_defaults(spec)) ==
        kHv +
            "synic: needs spec.template.spec.domain.features.hyperv.vpindex, which is off: "
            "enable vpindex or disable synic (QEMU's hv-synic needs hv-vpindex) (<spec>)\n" +
            kHv +
            "synictimer: needs spec.template.spec.domain.clock.timer.hyperv, which is off: "
            "enable hyperv or disable synictimer (QEMU's hv-stimer needs hv-time) (<spec>)\n");
  hv.synic = Toggle{false};
  CHECK(errors_of(hyperv_vm(hv)) ==
        kHv +
            "synictimer: needs spec.template.spec.domain.features.hyperv.synic, which is off: "
            "enable synic or disable synictimer (QEMU's hv-stimer needs hv-synic) (<spec>)\n");
}

TEST_CASE("direct stimer needs an enabled stimer") {
  HypervFeatures hv;
  hv.vpindex = hv.synic = Toggle{};
  hv.synictimer = stimer(true);
  hv.synictimer->enabled = false;
  CHECK(errors_of(hyperv_vm(hv)) ==
        kHv +
            "synictimer.direct: needs spec.template.spec.domain.features.hyperv.synictimer, "
            "which is off: enable synictimer or disable synictimer.direct (direct mode is part "
            "of the synthetic timers) (<spec>)\n");
}

TEST_CASE("tlbflush, ipi need vpindex; tlbflush.direct and evmcs need vapic, when turned off") {
  HypervFeatures hv;
  hv.ipi = hv.evmcs = Toggle{};
  hv.vpindex = hv.vapic = Toggle{false};
  hv.tlbflush = TlbFlush{std::nullopt, true, {}, false, {}};
  const std::string vpindex = "spec.template.spec.domain.features.hyperv.vpindex";
  const std::string vapic = "spec.template.spec.domain.features.hyperv.vapic";
  CHECK(errors_of(hyperv_vm(hv)) ==
        kHv + "tlbflush: needs " + vpindex +
            ", which is off: enable vpindex or disable tlbflush (QEMU's hv-tlbflush needs "
            "hv-vpindex) (<spec>)\n" +
            kHv + "tlbflush.direct: needs " + vapic +
            ", which is off: enable vapic or disable tlbflush.direct (QEMU's hv-tlbflush-direct "
            "needs hv-vapic) (<spec>)\n" +
            kHv + "ipi: needs " + vpindex +
            ", which is off: enable vpindex or disable ipi (QEMU's hv-ipi needs hv-vpindex) "
            "(<spec>)\n" +
            kHv + "evmcs: needs " + vapic +
            ", which is off: enable vapic or disable evmcs (QEMU's hv-evmcs needs hv-vapic) "
            "(<spec>)\n");
}

TEST_CASE("extended tlbflush needs tlbflush enabled") {
  HypervFeatures hv;
  hv.vpindex = Toggle{};
  hv.tlbflush = TlbFlush{false, false, {}, true, {}};
  CHECK(errors_of(hyperv_vm(hv)) ==
        kHv +
            "tlbflush.extended: needs spec.template.spec.domain.features.hyperv.tlbflush, which "
            "is off: enable tlbflush or disable tlbflush.extended (extended flushes are part of "
            "tlbflush) (<spec>)\n");
}

TEST_CASE("vendor ids have at most 12 characters; spinlocks at least 4095 retries") {
  HypervFeatures hv;
  hv.vendorid = VendorId{true, "ThirteenChars"};
  hv.spinlocks = Spinlocks{true, 100};
  CHECK(errors_of(hyperv_vm(hv)) ==
        kHv +
            "vendorid.vendorid: \"ThirteenChars\" has 13 characters; a Hyper-V vendor id has "
            "at most 12 (<spec>)\n" +
            kHv +
            "spinlocks.spinlocks: is 100; spinlock retries must be at least 4095 "
            "(<spec>)\n");
  hv.vendorid = VendorId{true, std::nullopt};
  hv.spinlocks = Spinlocks{false, 100};  // disabled: its count does not matter
  CHECK(errors_of(hyperv_vm(hv)) ==
        kHv + "vendorid: needs vendorid: the id to show, up to 12 characters (<spec>)\n");
}

TEST_CASE("hypervPassthrough excludes explicit hyperv features") {
  HypervFeatures hv;
  hv.relaxed = Toggle{};
  auto spec = hyperv_vm(hv);
  spec.domain.features.hyperv_passthrough = Toggle{true};
  CHECK(errors_of(spec) ==
        "spec.template.spec.domain.features.hypervPassthrough: turns on every Hyper-V feature "
        "the host has and cannot be combined with features.hyperv; remove one of them "
        "(<spec>)\n");
  spec.domain.features.hyperv.reset();
  CHECK(errors_of(spec) == "");
}
