#include <doctest/doctest.h>

#include "policy/host_probe_kvm.hpp"

using namespace qmd::policy;

TEST_CASE("a device anyone may open needs no note") {
  CHECK(kvm_access_note("/dev/kvm", 0666, "root", "kvm") == "");
}

TEST_CASE("what an unprivileged QEMU needs for /dev/kvm") {
  CHECK(kvm_access_note("/dev/kvm", 0600, "root", "root") ==
        "/dev/kvm is 0600 root:root: a QEMU dropped to an unprivileged uid cannot open it; make "
        "it 0660 root:kvm (udev rule: a root qmd gives each VM's QEMU that group)");
  CHECK(kvm_access_note("/dev/kvm", 0660, "root", "kvm") ==
        "/dev/kvm is 0660 root:kvm: a qmd run as root gives each VM's QEMU group kvm; a qmd run "
        "as another user needs that user in group kvm");
}

TEST_CASE("a missing device is neither present nor usable, and says what to do") {
  HostCaps caps;
  probe_kvm(caps, "/nonexistent/kvm");
  CHECK_FALSE(caps.kvm_present);
  CHECK_FALSE(caps.kvm_usable);
  CHECK(caps.kvm_detail == "/nonexistent/kvm does not exist (No such file or directory): load "
                           "kvm_intel or kvm_amd, or enable virtualization in the firmware");
}

TEST_CASE("a device that is not KVM is present but unusable") {
  HostCaps caps;
  probe_kvm(caps, "/dev/null");
  CHECK(caps.kvm_present);
  CHECK_FALSE(caps.kvm_usable);
  CHECK(caps.kvm_detail == "/dev/null has KVM API version -1, QEMU needs 12");
}

TEST_CASE("no KVM: the TSC frequency is unknown and nothing scales") {
  HostCaps caps;
  probe_kvm_tsc(caps, "/nonexistent/kvm");
  probe_kvm_tsc(caps, "/dev/null");
  CHECK(caps.tsc_khz == 0);
  CHECK_FALSE(caps.tsc_scaling);
}
