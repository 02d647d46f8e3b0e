#pragma once
// Pure parsers for what the QEMU binary says about itself (`-version`, `-machine help`,
// `-cpu help`), and the Hyper-V probe command line, kept apart from running it so that
// both can be tested without a QEMU.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "policy/host_caps.hpp"
#include "policy/host_probe_process.hpp"

namespace qmd::policy {

// "QEMU emulator version 7.2.22 (Debian ...)" -> 7.2.22.
std::optional<QemuVersion> parse_qemu_version(std::string_view out);
// Machine names, aliases (q35, pc) included, in QEMU's order.
std::vector<std::string> parse_machine_help(std::string_view out);
// CPU model names ("x86 NAME  description" lines) only, not the CPUID flag list.
std::vector<std::string> parse_cpu_help(std::string_view out);

// The `-cpu` value that tests `feature` on top of `base`: its dependencies first, then the
// feature, with the values QEMU wants (hv-spinlocks=0x1fff, hv-vendor-id=KVMKVMKVM).
std::string hyperv_probe_cpu_arg(const std::string& base, const std::string& feature);

// `qemu -accel ACCEL -machine q35 -cpu CPU -S ...` with QMP on stdio; accepted when QEMU
// gets as far as answering query-status (the vCPUs exist and their MSRs are set), refused
// when it exits first (exit 1 on a refused property, abort on an MSR assertion).
ProcessResult run_cpu_probe(const std::string& qemu_binary, const std::string& accel,
                            const std::string& cpu, std::chrono::milliseconds timeout);
bool cpu_probe_accepted(const ProcessResult& result);
// "exit 1: kernel doesn't allow setting HyperV VP_INDEX": why a probe was refused.
std::string cpu_probe_complaint(const ProcessResult& result);

}  // namespace qmd::policy
