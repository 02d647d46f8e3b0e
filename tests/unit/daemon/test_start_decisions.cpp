// A start's decisions (vm_start.cpp): where the guest comes from, whether it begins paused,
// when a saved state is refused, and what a failed start reports.
#include <doctest/doctest.h>

#include "daemon/runtime/start_decisions.hpp"

using namespace qmd::daemon;

TEST_CASE("a start boots, restores a saved state, or waits for a migration") {
  CHECK(start_from(false, false) == StartFrom::boot);
  CHECK(start_from(false, true) == StartFrom::saved_state);
  // An arrival never restores this host's saved state: the source's memory comes instead.
  CHECK(start_from(true, false) == StartFrom::migration);
  CHECK(start_from(true, true) == StartFrom::migration);
}

TEST_CASE("a boot begins paused for startStrategy Paused; a restore as it was saved") {
  CHECK_FALSE(starts_paused(StartFrom::boot, true, false));
  CHECK(starts_paused(StartFrom::boot, false, true));
  CHECK(starts_paused(StartFrom::saved_state, true, false));
  CHECK_FALSE(starts_paused(StartFrom::saved_state, false, true));
  CHECK_FALSE(starts_paused(StartFrom::migration, true, true));
}

TEST_CASE("a saved state restores only into the command line it was saved under") {
  CHECK_FALSE(saved_state_refusal("vm1", "2026-01-01T00:00:00Z", "abc", "abc").has_value());
  const auto refused = saved_state_refusal("vm1", "2026-01-01T00:00:00Z", "abc", "abd");
  REQUIRE(refused.has_value());
  CHECK(*refused ==
        "VM vm1: its state was saved at 2026-01-01T00:00:00Z under another QEMU command line "
        "(the definition, qmd.yaml, the presets or qmd changed since); undo the change and "
        "start it again, or `qmctl discard-saved vm1` to boot afresh");
}

TEST_CASE("a failed start names its step; an image locked by another VM is a conflict") {
  const std::string text = describe("vm1", StartFailure{"qemu", "QEMU exited with status 1"});
  CHECK(text == "VM vm1: start failed at qemu: QEMU exited with status 1");
  CHECK(start_failure_code(text) == OpError::Code::failed);
  const std::string locked = describe(
      "vm1", StartFailure{"qmp", "Failed to get \"write\" lock\nIs another process using the "
                                 "image [/srv/a.qcow2]?"});
  CHECK(start_failure_code(locked) == OpError::Code::conflict);
}
