#include <doctest/doctest.h>

#include "tests/unit/policy/test_validate_fixture.hpp"

using namespace qmd::policy;
using namespace qmd::policy::test;

namespace {
const std::string kDomain = "spec.template.spec.domain.";
}

TEST_CASE("cpu and memory without extras have no errors") {
  auto spec = minimal_vm();
  spec.domain.cpu.sockets = 2;
  spec.domain.cpu.cores = 8;
  spec.domain.cpu.threads = 2;
  spec.domain.cpu.max_sockets = 4;
  CHECK(errors_of(spec) == "");
}

TEST_CASE("topology members are at least 1 and multiply to at most 4096") {
  auto spec = minimal_vm();
  spec.domain.cpu.threads = 0;
  CHECK(errors_of(spec) == kDomain + "cpu.threads: must be at least 1 (<spec>)\n");
  spec.domain.cpu.threads = 2;
  spec.domain.cpu.sockets = 64;
  spec.domain.cpu.cores = 64;
  CHECK(errors_of(spec) == kDomain +
                               "cpu: sockets * cores * threads is 8192 vCPUs; at most "
                               "4096 are supported (<spec>)\n");
}

TEST_CASE("maxSockets is at least sockets") {
  auto spec = minimal_vm();
  spec.domain.cpu.sockets = 4;
  spec.domain.cpu.max_sockets = 2;
  CHECK(errors_of(spec) == kDomain +
                               "cpu.maxSockets: is 2 but sockets is 4; maxSockets must be "
                               "at least sockets (<spec>)\n");
}

TEST_CASE("guest memory is required, at least 16Mi and whole MiB") {
  auto spec = minimal_vm();
  spec.domain.memory.guest.reset();
  CHECK(errors_of(spec) == kDomain +
                               "memory.guest: is required: set domain.memory.guest or "
                               "domain.resources.requests.memory, or use an instancetype "
                               "(<spec>)\n");
  spec.domain.memory.guest = 8 * kMi;
  CHECK(errors_of(spec) == kDomain +
                               "memory.guest: is 8Mi; a guest needs at least 16Mi "
                               "(<spec>)\n");
  spec.domain.memory.guest = 64 * kMi + 512;
  CHECK(errors_of(spec) == kDomain +
                               "memory.guest: is 67109376 bytes; it must be a multiple of "
                               "1Mi (<spec>)\n");
}

TEST_CASE("hugepages are 2Mi or 1Gi and divide guest memory") {
  auto spec = minimal_vm();
  spec.domain.memory.hugepages_page_size = 2 * kMi;
  CHECK(errors_of(spec) == "");
  spec.domain.memory.hugepages_page_size = 4096;
  CHECK(errors_of(spec) == kDomain +
                               "memory.hugepages.pageSize: is 4Ki; hugepages must be 2Mi "
                               "or 1Gi (<spec>)\n");
  spec.domain.memory.hugepages_page_size = kGi;
  spec.domain.memory.guest = 1536 * kMi;
  CHECK(errors_of(spec) == kDomain +
                               "memory.hugepages.pageSize: 1Gi pages do not divide the "
                               "guest memory 1536Mi; make domain.memory.guest a multiple "
                               "of 1Gi (<spec>)\n");
}

TEST_CASE("maxGuest exceeds guest memory in 2Mi blocks, hugepages allowed") {
  auto spec = minimal_vm();
  spec.domain.memory.max_guest = 4 * kGi;
  spec.domain.memory.hugepages_page_size = 2 * kMi;
  CHECK(errors_of(spec) == "");
  spec.domain.memory.max_guest = kGi;
  CHECK(errors_of(spec) == kDomain +
                               "memory.maxGuest: is 1Gi; it must be larger than the guest "
                               "memory 1Gi (<spec>)\n");
  spec.domain.memory.max_guest = 2 * kGi + kMi;
  CHECK(errors_of(spec) == kDomain +
                               "memory.maxGuest: is 2049Mi; it must be a multiple of 2Mi "
                               "(the virtio-mem block size) (<spec>)\n");
}

TEST_CASE("limits are not below requests") {
  auto spec = minimal_vm();
  spec.domain.resources.requests.cpu = 2;
  spec.domain.resources.limits.cpu = 1.5;
  spec.domain.resources.requests.memory = 2 * kGi;
  spec.domain.resources.limits.memory = kGi;
  CHECK(errors_of(spec) == kDomain +
                               "resources.limits.cpu: 1.5 is below requests.cpu 2 "
                               "(<spec>)\n" +
                               kDomain +
                               "resources.limits.memory: 1Gi is below requests.memory "
                               "2Gi (<spec>)\n");
}

TEST_CASE("dedicated cpus need whole, equal cpu requests and limits") {
  auto spec = minimal_vm();
  spec.domain.cpu.dedicated_cpu_placement = true;
  spec.domain.cpu.isolate_emulator_thread = true;
  spec.domain.resources.requests.cpu = 2;
  spec.domain.resources.limits.cpu = 2;
  CHECK(errors_of(spec) == "");
  spec.domain.resources.limits.cpu = 4;
  CHECK(errors_of(spec) == kDomain +
                               "resources.limits.cpu: is 4 but requests.cpu is 2; "
                               "dedicatedCpuPlacement needs them equal (<spec>)\n");
  spec.domain.resources.requests.cpu = 0.5;
  spec.domain.resources.limits.cpu.reset();
  CHECK(errors_of(spec) == kDomain +
                               "resources.requests.cpu: is 0.5; dedicatedCpuPlacement "
                               "needs a whole number of CPUs (<spec>)\n");
}

TEST_CASE("isolateEmulatorThread needs dedicatedCpuPlacement") {
  auto spec = minimal_vm();
  spec.domain.cpu.isolate_emulator_thread = true;
  CHECK(errors_of(spec) == kDomain +
                               "cpu.isolateEmulatorThread: needs "
                               "domain.cpu.dedicatedCpuPlacement: true (<spec>)\n");
}
