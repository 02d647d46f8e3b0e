#include <doctest/doctest.h>

#include "policy/host_probe_qemu.hpp"

using namespace qmd::policy;

TEST_CASE("empty help output gives no names") {
  CHECK(parse_machine_help("").empty());
  CHECK(parse_cpu_help("").empty());
  CHECK_FALSE(parse_qemu_version("").has_value());
}

TEST_CASE("qemu -version") {
  const auto v = parse_qemu_version(
      "QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)\nCopyright (c) 2003-2022\n");
  REQUIRE(v.has_value());
  CHECK(*v == QemuVersion{7, 2, 22});
  CHECK(*parse_qemu_version("QEMU emulator version 8.0\n") == QemuVersion{8, 0, 0});
}

TEST_CASE("-machine help keeps aliases and versioned names in order") {
  const auto names = parse_machine_help(
      "Supported machines are:\n"
      "microvm              microvm (i386)\n"
      "pc                   Standard PC (i440FX + PIIX, 1996) (alias of pc-i440fx-7.2)\n"
      "pc-i440fx-7.2        Standard PC (i440FX + PIIX, 1996) (default)\n"
      "q35                  Standard PC (Q35 + ICH9, 2009) (alias of pc-q35-7.2)\n"
      "pc-q35-7.2           Standard PC (Q35 + ICH9, 2009)\n");
  CHECK(names == std::vector<std::string>{"microvm", "pc", "pc-i440fx-7.2", "q35", "pc-q35-7.2"});
}

TEST_CASE("-cpu help gives model names, not CPUID flags") {
  const auto names = parse_cpu_help(
      "Available CPUs:\n"
      "x86 486                   (alias configured by machine type)\n"
      "x86 EPYC-v1               AMD EPYC Processor\n"
      "x86 max                   Enables all features supported by the accelerator\n"
      "\n"
      "Recognized CPUID flags:\n"
      "  3dnow 3dnowext abm\n");
  CHECK(names == std::vector<std::string>{"486", "EPYC-v1", "max"});
}

TEST_CASE("a Hyper-V probe carries the feature's dependencies first, with values") {
  CHECK(hyperv_probe_cpu_arg("host", "relaxed") == "host,hv-relaxed");
  CHECK(hyperv_probe_cpu_arg("host", "spinlocks") == "host,hv-spinlocks=0x1fff");
  CHECK(hyperv_probe_cpu_arg("host", "vendor-id") == "host,hv-vendor-id=KVMKVMKVM");
  CHECK(hyperv_probe_cpu_arg("qemu64", "stimer-direct") ==
        "qemu64,hv-vpindex,hv-synic,hv-time,hv-stimer,hv-stimer-direct");
  CHECK(hyperv_probe_cpu_arg("host", "tlbflush-direct") == "host,hv-vapic,hv-evmcs,"
                                                           "hv-tlbflush-direct");
}

TEST_CASE("a probe is accepted only when QMP answered query-status") {
  ProcessResult ok;
  ok.started = true;
  ok.exit_code = 0;
  ok.out = "{\"QMP\": {}}\n{\"return\": {}}\n{\"return\": {\"status\": \"prelaunch\"}}\n";
  CHECK(cpu_probe_accepted(ok));
  CHECK(cpu_probe_complaint(ok).empty());

  ProcessResult vpindex;
  vpindex.started = true;
  vpindex.exit_code = 1;
  vpindex.err = "qemu-system-x86_64: kernel doesn't allow setting HyperV VP_INDEX\n";
  CHECK_FALSE(cpu_probe_accepted(vpindex));
  CHECK(cpu_probe_complaint(vpindex) == "exit 1: kernel doesn't allow setting HyperV VP_INDEX");

  ProcessResult msr;
  msr.started = true;
  msr.signal = 6;
  msr.out = "{\"QMP\": {}}\n";
  msr.err =
      "qemu-system-x86_64: warning: host doesn't support requested feature: CPUID.01H:ECX.pni\n"
      "qemu-system-x86_64: error: failed to set MSR 0x40000021 to 0x0\n"
      "qemu-system-x86_64: ../../target/i386/kvm/kvm.c:3183: kvm_buf_set_msrs: Assertion\n";
  CHECK(cpu_probe_complaint(msr) ==
        "killed by signal 6 (abort): error: failed to set MSR 0x40000021 to 0x0");
}
