// probe_host: everything HostCaps knows, read from this machine. Each external run is
// bounded; a failure leaves the field at its "absent" value and, where it matters, says why.
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>

#include "policy/host_caps.hpp"
#include "policy/host_cpu_flags.hpp"
#include "policy/host_probe_firmware.hpp"
#include "policy/host_probe_hyperv.hpp"
#include "policy/host_probe_kvm.hpp"
#include "policy/host_probe_qemu.hpp"

namespace qmd::policy {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string read_word(const fs::path& path) {
  std::ifstream in(path);
  std::string word;
  in >> word;
  return word;
}

std::uint64_t read_number(const fs::path& path) {
  try {
    return std::stoull(read_word(path));
  } catch (const std::exception&) {
    return 0;
  }
}

bool module_flag(const char* path) {
  const auto word = read_word(path);
  return word == "Y" || word == "y" || word == "1";
}

void probe_hugepages(HostCaps& caps) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/sys/kernel/mm/hugepages", ec)) {
    // hugepages-2048kB
    const auto name = entry.path().filename().string();
    std::uint64_t kb = 0;
    if (std::sscanf(name.c_str(), "hugepages-%lukB", &kb) != 1 || kb == 0) {
      continue;
    }
    caps.hugepages[kb * 1024] = HugepagePool{read_number(entry.path() / "nr_hugepages"),
                                             read_number(entry.path() / "free_hugepages")};
  }
}

std::uint64_t mem_total() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  std::uint64_t kb = 0;
  std::string unit;
  while (in >> key >> kb >> unit) {
    if (key == "MemTotal:") {
      return kb * 1024;
    }
  }
  return 0;
}

std::vector<std::string> cpuinfo_flags() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with("flags")) {
      return parse_cpuinfo_flags(line);
    }
  }
  return {};
}

void probe_qemu(HostCaps& caps) {
  const auto version = run_process({caps.qemu_binary, "-version"}, {}, 3s);
  if (auto v = parse_qemu_version(version.out)) {
    caps.qemu_version = *v;
  }
  caps.machine_types =
      parse_machine_help(run_process({caps.qemu_binary, "-machine", "help"}, {}, 3s).out);
  caps.cpu_models = parse_cpu_help(run_process({caps.qemu_binary, "-cpu", "help"}, {}, 3s).out);
}

}  // namespace

HostCaps probe_host(const std::string& qemu_binary) {
  HostCaps caps;
  caps.qemu_binary = qemu_binary;
  // The whole probe stays around 10 s even when QEMU hangs on every start.
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  try {
    std::array<char, 256> name{};
    if (::gethostname(name.data(), name.size() - 1) == 0) {
      caps.hostname = name.data();
    }
    probe_kvm(caps);
    probe_qemu(caps);
    probe_hyperv(caps, deadline);
    caps.cpu_flags = cpuinfo_flags();
    caps.vhost_net = fs::exists("/dev/vhost-net");
    probe_hugepages(caps);
    caps.memory_total = mem_total();
    const long cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
    caps.cpus_online = cpus > 0 ? static_cast<std::uint32_t>(cpus) : 0;
    caps.ovmf = find_ovmf();
    caps.swtpm = find_swtpm();
    caps.sev = module_flag("/sys/module/kvm_amd/parameters/sev");
    caps.sev_snp = module_flag("/sys/module/kvm_amd/parameters/sev_snp");
    caps.tdx = module_flag("/sys/module/kvm_intel/parameters/tdx");
    // KVM's own figure is the one QEMU compares tsc-frequency with; sysfs (rarely there)
    // only when KVM cannot say.
    probe_kvm_tsc(caps);
    if (caps.tsc_khz == 0) {
      caps.tsc_khz = read_number("/sys/devices/system/cpu/cpu0/tsc_freq_khz");
    }
  } catch (const std::exception&) {
    // A probe step that throws (out of memory, thread creation) leaves the rest unknown.
  }
  return caps;
}

}  // namespace qmd::policy
