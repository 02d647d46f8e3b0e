// probe_host() on this very machine, checked against QEMU run directly by the test.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <future>
#include <map>

#include "policy/host_caps.hpp"
#include "policy/host_probe_kvm.hpp"
#include "policy/host_probe_process.hpp"

using namespace qmd::policy;
using namespace std::chrono_literals;

namespace {

const std::string kQemu = "/usr/bin/qemu-system-x86_64";

// The test's own idea of "QEMU starts with this -cpu under ACCEL": exit 0 after answering
// query-status, nothing shared with the probe but the process runner.
bool qemu_starts_with(const std::string& accel, const std::string& cpu) {
  const auto r = run_process({kQemu, "-accel", accel, "-machine", "q35", "-cpu", cpu, "-S",
                              "-nodefaults", "-no-user-config", "-display", "none", "-qmp",
                              "stdio"},
                             "{\"execute\":\"qmp_capabilities\"}\n"
                             "{\"execute\":\"query-status\"}\n{\"execute\":\"quit\"}\n",
                             10s);
  return r.exit_code == 0 && r.out.find("prelaunch") != std::string::npos;
}

bool qemu_starts(const std::string& cpu) { return qemu_starts_with("kvm", cpu); }

std::string with_deps(const std::string& f) {
  std::string flags;
  for (const auto& dep : hyperv_dependencies(f)) {
    flags += with_deps(dep);
  }
  const std::string flag = f == "spinlocks"     ? "hv-spinlocks=0x1fff"
                           : f == "vendor-id"   ? "hv-vendor-id=KVMKVMKVM"
                           : f == "passthrough" ? "hv-passthrough=on"
                                                : "hv-" + f;
  return flags.find("," + flag) == std::string::npos ? flags + "," + flag : flags;
}

}  // namespace

TEST_CASE("probe_host on this machine matches QEMU run directly") {
  if (!std::filesystem::exists(kQemu)) {
    MESSAGE("no QEMU here: skipping the real host probe");
    return;
  }
  const auto started = std::chrono::steady_clock::now();
  const HostCaps caps = probe_host(kQemu);
  const auto took = std::chrono::steady_clock::now() - started;
  MESSAGE("probe took " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                        << " ms\n"
                        << host_caps_text(caps));

  if (!std::filesystem::exists("/dev/kvm")) {
    MESSAGE("no /dev/kvm here: the KVM verdicts are skipped, TCG's are checked");
  }
  CHECK(caps.kvm_present == std::filesystem::exists("/dev/kvm"));
  CHECK(caps.qemu_version.major >= 7);
  CHECK(std::ranges::find(caps.machine_types, "q35") != caps.machine_types.end());
  CHECK(std::ranges::find(caps.machine_types, "pc") != caps.machine_types.end());
  CHECK(std::ranges::find(caps.cpu_models, "qemu64") != caps.cpu_models.end());
  CHECK(caps.memory_total > 0);
  CHECK(caps.cpus_online > 0);

  // TCG's verdicts hold whatever /dev/kvm says (QEMU 7.2 refuses hv-vpindex under TCG too).
  REQUIRE(caps.hyperv_tcg_probed);
  {
    std::map<std::string, std::future<bool>> direct;
    for (const auto& f : known_hyperv_features()) {
      direct[f] = std::async(std::launch::async, qemu_starts_with, "tcg", "max" + with_deps(f));
    }
    for (const auto& f : known_hyperv_features()) {
      INFO("TCG hv-" << f << " with -cpu max" << with_deps(f));
      REQUIRE(caps.hyperv_tcg.contains(f));
      CHECK(caps.hyperv_tcg.at(f) == direct[f].get());
      CHECK(caps.hyperv_tcg_detail.contains(f) == !caps.hyperv_tcg.at(f));
    }
  }
  if (!caps.kvm_usable) {
    CHECK_FALSE(caps.hyperv_probed);
    return;
  }
  REQUIRE(caps.hyperv_probed);
  CHECK(caps.cpu_host_usable == qemu_starts("host"));
  const std::string base = caps.cpu_host_usable ? "host" : "qemu64";
  CHECK(caps.hyperv_probe_cpu == base);

  std::map<std::string, std::future<bool>> direct;
  for (const auto& f : known_hyperv_features()) {
    direct[f] = std::async(std::launch::async, qemu_starts, base + with_deps(f));
  }
  for (const auto& f : known_hyperv_features()) {
    INFO("hv-" << f << " with -cpu " << base + with_deps(f));
    REQUIRE(caps.hyperv.contains(f));
    CHECK(caps.hyperv.at(f) == direct[f].get());
    CHECK(caps.hyperv_detail.contains(f) == !caps.hyperv.at(f));
  }
}

// QEMU compares -cpu tsc-frequency with what KVM gives a new vCPU; without TSC scaling it
// refuses anything beyond 250 ppm of it, so the probed figure must be exactly that one.
TEST_CASE("the probed TSC frequency is the one QEMU under KVM accepts") {
  HostCaps caps;
  probe_kvm(caps);
  if (!std::filesystem::exists(kQemu) || !caps.kvm_usable) {
    MESSAGE("no usable KVM or QEMU here: skipping the TSC probe");
    return;
  }
  probe_kvm_tsc(caps);
  MESSAGE("tsc " << caps.tsc_khz << " kHz, scaling " << caps.tsc_scaling);
  REQUIRE(caps.tsc_khz > 0);
  const std::string hz = std::to_string(caps.tsc_khz * 1000);
  CHECK(qemu_starts("qemu64,tsc-frequency=" + hz));
  if (!caps.tsc_scaling) {
    CHECK_FALSE(qemu_starts("qemu64,tsc-frequency=" + std::to_string(caps.tsc_khz * 1010)));
  }
}
