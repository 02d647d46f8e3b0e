// The action table: every (action, state) pair, written out, and the refusals' words.
#include <doctest/doctest.h>

#include <map>

#include "daemon/runtime/vm_actions.hpp"

using namespace qmd::daemon;

namespace {

// One letter per state, in kVmStates' order: stopped starting running paused shuttingdown
// crashed migrating migrated. g go, n nothing to do, M migration busy, q needs QEMU,
// u needs unpaused, s needs stopped, a moved away.
const std::map<VmAction, std::string> kTable{
    {VmAction::start, "gssssgMa"},
    {VmAction::stop, "nggggnMn"},
    {VmAction::kill, "nggggngn"},
    {VmAction::pause, "qqgnqqMq"},
    {VmAction::resume, "qqngqqMq"},
    {VmAction::reset, "qqggqqMq"},
    {VmAction::reboot, "qqggqqMq"},
    {VmAction::update, "ggggggMg"},
    {VmAction::remove, "gssssgMg"},
    {VmAction::hotplug, "qqggqqMq"},
    {VmAction::guest_agent, "qqguqqgq"},
    {VmAction::migrate, "qqggqqMq"},
    {VmAction::save, "qqggqqMq"},
    {VmAction::discard_saved, "gssssgMg"},
};

char letter(Verdict v) {
  switch (v) {
    case Verdict::go: return 'g';
    case Verdict::nothing_to_do: return 'n';
    case Verdict::migration_busy: return 'M';
    case Verdict::needs_qemu: return 'q';
    case Verdict::needs_unpaused: return 'u';
    case Verdict::needs_stopped: return 's';
    case Verdict::moved_away: return 'a';
  }
  return '?';
}

}  // namespace

TEST_CASE("action table: every action in every state") {
  REQUIRE(kTable.size() == kVmActions.size());
  for (auto action : kVmActions) {
    std::string row;
    for (auto state : kVmStates) {
      row += letter(verdict(action, state));
    }
    INFO("action ", action_name(action));
    CHECK(row == kTable.at(action));
  }
}

TEST_CASE("action table: each refusal names the VM and what to do") {
  CHECK(refusal("w1", "attach-disk", VmState::migrating, Verdict::migration_busy, false) ==
        "VM w1 is migrating; attach-disk waits until it is done (qmctl migrate-cancel w1 stops "
        "the migration)");
  CHECK(refusal("w1", "start", VmState::migrating, Verdict::migration_busy, true) ==
        "VM w1 is arriving by migration; start waits until it has (or the source gives up)");
  CHECK(refusal("w1", "pause", VmState::stopped, Verdict::needs_qemu, false) ==
        "VM w1 is stopped; pause needs a running VM (qmctl start w1)");
  CHECK(refusal("w1", "reset", VmState::starting, Verdict::needs_qemu, false) ==
        "VM w1 is starting; reset needs a running VM: try again once it runs");
  CHECK(refusal("w1", "the guest agent", VmState::paused, Verdict::needs_unpaused, false) ==
        "VM w1 is paused; the guest agent cannot answer until it resumes (qmctl resume w1)");
  CHECK(refusal("w1", "start", VmState::running, Verdict::needs_stopped, false) ==
        "VM w1 is already running");
  CHECK(refusal("w1", "discard-saved", VmState::paused, Verdict::needs_stopped, false) ==
        "VM w1 is paused; discard-saved needs it stopped (qmctl stop w1)");
  CHECK(refusal("w1", "start", VmState::migrated, Verdict::moved_away, false) ==
        "VM w1 migrated away and runs on another qmd; start here would run it twice (qmctl "
        "delete w1 forgets this record)");
}
