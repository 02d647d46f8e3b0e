#include "policy/host_probe_qemu.hpp"

#include <cstdio>

#include <fmt/format.h>

namespace qmd::policy {
namespace {

std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    lines.push_back(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
  }
  return lines;
}

std::string_view first_word(std::string_view line) {
  const auto start = line.find_first_not_of(" \t");
  if (start == std::string_view::npos) {
    return {};
  }
  line = line.substr(start);
  return line.substr(0, line.find_first_of(" \t\r"));
}

std::string probe_flag(const std::string& feature) {
  if (feature == "spinlocks") {
    return "hv-spinlocks=0x1fff";
  }
  if (feature == "vendor-id") {
    return "hv-vendor-id=KVMKVMKVM";
  }
  if (feature == "passthrough") {
    return "hv-passthrough=on";
  }
  return "hv-" + feature;
}

void add_with_deps(const std::string& feature, std::vector<std::string>& out) {
  for (const auto& dep : hyperv_dependencies(feature)) {
    add_with_deps(dep, out);
  }
  for (const auto& have : out) {
    if (have == feature) {
      return;
    }
  }
  out.push_back(feature);
}

}  // namespace

std::optional<QemuVersion> parse_qemu_version(std::string_view out) {
  constexpr std::string_view marker = "version ";
  const auto at = out.find(marker);
  if (at == std::string_view::npos) {
    return std::nullopt;
  }
  const std::string rest(out.substr(at + marker.size(), 32));
  QemuVersion v;
  if (std::sscanf(rest.c_str(), "%d.%d.%d", &v.major, &v.minor, &v.micro) < 2) {
    return std::nullopt;
  }
  return v;
}

std::vector<std::string> parse_machine_help(std::string_view out) {
  std::vector<std::string> names;
  for (const auto line : lines_of(out)) {
    if (line.starts_with("Supported machines") || line.empty() || line.front() == ' ') {
      continue;
    }
    if (const auto name = first_word(line); !name.empty()) {
      names.emplace_back(name);
    }
  }
  return names;
}

std::vector<std::string> parse_cpu_help(std::string_view out) {
  std::vector<std::string> names;
  for (const auto line : lines_of(out)) {
    if (line.starts_with("x86 ")) {
      if (const auto name = first_word(line.substr(4)); !name.empty()) {
        names.emplace_back(name);
      }
    }
  }
  return names;
}

std::string hyperv_probe_cpu_arg(const std::string& base, const std::string& feature) {
  std::vector<std::string> features;
  add_with_deps(feature, features);
  std::string arg = base;
  for (const auto& f : features) {
    arg += "," + probe_flag(f);
  }
  return arg;
}

ProcessResult run_cpu_probe(const std::string& qemu_binary, const std::string& accel,
                            const std::string& cpu, std::chrono::milliseconds timeout) {
  // QMP commands are only served from the main loop, i.e. after the machine (vCPUs, MSRs)
  // has been built; `quit` then ends QEMU with exit 0.
  static constexpr std::string_view qmp =
      "{\"execute\":\"qmp_capabilities\"}\n{\"execute\":\"query-status\"}\n"
      "{\"execute\":\"quit\"}\n";
  return run_process({qemu_binary, "-accel", accel, "-machine", "q35", "-cpu", cpu, "-m", "64",
                      "-smp", "1", "-S", "-nodefaults", "-no-user-config", "-display", "none",
                      "-qmp", "stdio"},
                     qmp, timeout);
}

bool cpu_probe_accepted(const ProcessResult& result) {
  return result.ok() && result.out.find("\"status\"") != std::string::npos;
}

std::string cpu_probe_complaint(const ProcessResult& result) {
  if (cpu_probe_accepted(result)) {
    return {};
  }
  // QEMU's first non-warning line says why; for an abort that is "error: failed to set MSR".
  for (auto line : lines_of(result.err)) {
    if (const auto colon = line.find(": "); colon != std::string_view::npos &&
                                            line.substr(0, colon).find("qemu") !=
                                                std::string_view::npos) {
      line = line.substr(colon + 2);
    }
    if (line.empty() || line.starts_with("warning:")) {
      continue;
    }
    return fmt::format("{}: {}", result.status(), line);
  }
  return result.status();
}

}  // namespace qmd::policy
