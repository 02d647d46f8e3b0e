// parse_host_caps: a described host for tests and golden files, so that nothing in them
// depends on the machine they run on. Every key has a default: "a typical KVM host".
#include <algorithm>
#include <charconv>
#include <functional>
#include <map>
#include <sstream>

#include <fmt/format.h>

#include "policy/host_caps.hpp"
#include "policy/host_probe_firmware.hpp"
#include "policy/host_probe_kvm.hpp"
#include "policy/host_units.hpp"

namespace qmd::policy {
namespace {

using Result = std::expected<void, std::string>;

// `qemu-system-x86_64 -machine help` of Debian 12's QEMU 7.2, names only.
const std::vector<std::string>& qemu72_machines() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n{"microvm", "pc"};
    for (const char* v : {"7.2", "7.1", "7.0", "6.2", "6.1", "6.0", "5.2", "5.1", "5.0", "4.2",
                          "4.1", "4.0", "3.1", "3.0", "2.9", "2.8", "2.7", "2.6", "2.5", "2.4",
                          "2.3", "2.2", "2.12", "2.11", "2.10", "2.1", "2.0", "1.7", "1.6",
                          "1.5", "1.4"}) {
      n.push_back(fmt::format("pc-i440fx-{}", v));
    }
    n.push_back("q35");
    for (const char* v : {"7.2", "7.1", "7.0", "6.2", "6.1", "6.0", "5.2", "5.1", "5.0", "4.2",
                          "4.1", "4.0.1", "4.0", "3.1", "3.0", "2.9", "2.8", "2.7", "2.6", "2.5",
                          "2.4", "2.12", "2.11", "2.10"}) {
      n.push_back(fmt::format("pc-q35-{}", v));
    }
    for (const char* extra : {"isapc", "none", "x-remote"}) {
      n.emplace_back(extra);
    }
    return n;
  }();
  return names;
}

// `qemu-system-x86_64 -cpu help` of QEMU 7.2, model names only.
const std::vector<std::string>& qemu72_cpu_models() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    std::istringstream words(
        "486 486-v1 Broadwell Broadwell-IBRS Broadwell-noTSX Broadwell-noTSX-IBRS Broadwell-v1 "
        "Broadwell-v2 Broadwell-v3 Broadwell-v4 Cascadelake-Server Cascadelake-Server-noTSX "
        "Cascadelake-Server-v1 Cascadelake-Server-v2 Cascadelake-Server-v3 Cascadelake-Server-v4 "
        "Cascadelake-Server-v5 Conroe Conroe-v1 Cooperlake Cooperlake-v1 Cooperlake-v2 "
        "Denverton Denverton-v1 Denverton-v2 Denverton-v3 Dhyana Dhyana-v1 Dhyana-v2 EPYC "
        "EPYC-IBPB EPYC-Milan EPYC-Milan-v1 EPYC-Rome EPYC-Rome-v1 EPYC-Rome-v2 EPYC-v1 EPYC-v2 "
        "EPYC-v3 Haswell Haswell-IBRS Haswell-noTSX Haswell-noTSX-IBRS Haswell-v1 Haswell-v2 "
        "Haswell-v3 Haswell-v4 Icelake-Server Icelake-Server-noTSX Icelake-Server-v1 "
        "Icelake-Server-v2 Icelake-Server-v3 Icelake-Server-v4 Icelake-Server-v5 "
        "Icelake-Server-v6 IvyBridge IvyBridge-IBRS IvyBridge-v1 IvyBridge-v2 KnightsMill "
        "KnightsMill-v1 Nehalem Nehalem-IBRS Nehalem-v1 Nehalem-v2 Opteron_G1 Opteron_G1-v1 "
        "Opteron_G2 Opteron_G2-v1 Opteron_G3 Opteron_G3-v1 Opteron_G4 Opteron_G4-v1 Opteron_G5 "
        "Opteron_G5-v1 Penryn Penryn-v1 SandyBridge SandyBridge-IBRS SandyBridge-v1 "
        "SandyBridge-v2 Skylake-Client Skylake-Client-IBRS Skylake-Client-noTSX-IBRS "
        "Skylake-Client-v1 Skylake-Client-v2 Skylake-Client-v3 Skylake-Client-v4 Skylake-Server "
        "Skylake-Server-IBRS Skylake-Server-noTSX-IBRS Skylake-Server-v1 Skylake-Server-v2 "
        "Skylake-Server-v3 Skylake-Server-v4 Skylake-Server-v5 Snowridge Snowridge-v1 "
        "Snowridge-v2 Snowridge-v3 Snowridge-v4 Westmere Westmere-IBRS Westmere-v1 Westmere-v2 "
        "athlon athlon-v1 core2duo core2duo-v1 coreduo coreduo-v1 kvm32 kvm32-v1 kvm64 kvm64-v1 "
        "n270 n270-v1 pentium pentium-v1 pentium2 pentium2-v1 pentium3 pentium3-v1 phenom "
        "phenom-v1 qemu32 qemu32-v1 qemu64 qemu64-v1 base host max");
    for (std::string w; words >> w;) {
      n.push_back(w);
    }
    return n;
  }();
  return names;
}

// A Skylake server's /proc/cpuinfo flags (with VMX, without AMD's SVM).
std::vector<std::string> skylake_cpu_flags() {
  std::vector<std::string> n;
  std::istringstream words(
      "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush dts "
      "acpi mmx fxsr sse sse2 ss ht tm pbe syscall nx pdpe1gb rdtscp lm constant_tsc "
      "nonstop_tsc pni pclmulqdq dtes64 monitor ds_cpl vmx smx est tm2 ssse3 sdbg fma cx16 "
      "xtpr pdcm pcid dca sse4_1 sse4_2 x2apic movbe popcnt tsc_deadline_timer aes xsave avx "
      "f16c rdrand lahf_lm abm 3dnowprefetch invpcid_single ssbd ibrs ibpb stibp fsgsbase "
      "tsc_adjust bmi1 hle avx2 smep bmi2 erms invpcid rtm mpx avx512f avx512dq rdseed adx "
      "smap clflushopt clwb avx512cd avx512bw avx512vl xsaveopt xsavec xgetbv1 xsaves arat pku "
      "ospke md_clear flush_l1d arch_capabilities");
  for (std::string w; words >> w;) {
    n.push_back(w);
  }
  return n;
}

HostCaps typical_host() {
  HostCaps caps;
  caps.hostname = "testhost";
  caps.qemu_version = {7, 2, 0};
  caps.kvm_present = true;
  caps.kvm_usable = true;
  caps.machine_types = qemu72_machines();
  caps.cpu_models = qemu72_cpu_models();
  caps.cpu_flags = skylake_cpu_flags();
  caps.cpu_host_usable = true;
  caps.hyperv_probed = true;
  caps.hyperv_probe_cpu = "host";
  caps.memory_total = 64ULL << 30;
  caps.cpus_online = 16;
  caps.ovmf = debian_ovmf_images();
  caps.swtpm = SwtpmCaps{true, "/usr/bin/swtpm", "/usr/bin/swtpm_setup", true,
                         {"tpm-1.2", "tpm-2.0", "tpm-send-command-header", "flags-opt-startup",
                          "cmdarg-seccomp", "cmdarg-key-fd", "cmdarg-pwd-fd",
                          "cmdarg-print-states", "nvram-backend-dir", "nvram-backend-file"}};
  return caps;
}

std::expected<bool, std::string> yes_no(std::string_view word, std::string_view value) {
  if (value == "yes") {
    return true;
  }
  if (value == "no") {
    return false;
  }
  return std::unexpected(fmt::format("bad value in \"{}\": expected yes or no", word));
}

std::vector<std::string> split(std::string_view text, char sep) {
  std::vector<std::string> parts;
  while (true) {
    const auto at = text.find(sep);
    parts.emplace_back(text.substr(0, at));
    if (at == std::string_view::npos) {
      return parts;
    }
    text.remove_prefix(at + 1);
  }
}

template <typename T>
std::optional<T> number(std::string_view text) {
  T value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

struct Parser {
  HostCaps caps = typical_host();
  std::optional<std::string> hyperv;  // applied last: it depends on kvm=
  // QEMU 7.2's TCG refuses hv-vpindex (and so everything that needs it): the default.
  std::string hyperv_tcg = "relaxed,vapic,spinlocks,runtime,time,reset,vendor-id,frequencies,"
                           "reenlightenment,evmcs,tlbflush-direct,passthrough";

  Result word(std::string_view w) {
    const auto eq = w.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      return std::unexpected(fmt::format("\"{}\" is not key=value", w));
    }
    const std::string key(w.substr(0, eq));
    const std::string_view value = w.substr(eq + 1);
    const auto bad = [&](std::string_view expected) {
      return std::unexpected(fmt::format("bad value in \"{}\": expected {}", w, expected));
    };
    const auto flag = [&](bool& into) -> Result {
      auto b = yes_no(w, value);
      if (!b) {
        return std::unexpected(b.error());
      }
      into = *b;
      return {};
    };
    if (key == "hostname") {
      if (value.empty()) {
        return bad("a name");
      }
      caps.hostname = value;
    } else if (key == "kvm") {
      if (value == "noperm") {
        caps.kvm_present = true;
        caps.kvm_usable = false;
        caps.kvm_detail = "cannot open /dev/kvm: Permission denied; " +
                          kvm_access_note("/dev/kvm", 0600, "root", "root");
        return {};
      }
      if (auto r = flag(caps.kvm_usable); !r) {
        return std::unexpected(fmt::format("bad value in \"{}\": expected yes, no or noperm", w));
      }
      caps.kvm_present = caps.kvm_usable;
      caps.kvm_detail = caps.kvm_usable ? "" : "/dev/kvm does not exist";
    } else if (key == "qemu") {
      const auto parts = split(value, '.');
      std::array<int, 3> v{0, 0, 0};
      for (std::size_t i = 0; i < parts.size() && i < 3; ++i) {
        const auto n = number<int>(parts[i]);
        if (!n) {
          return bad("a version such as 7.2.0");
        }
        v[i] = *n;
      }
      if (parts.size() < 2 || parts.size() > 3) {
        return bad("a version such as 7.2.0");
      }
      caps.qemu_version = {v[0], v[1], v[2]};
    } else if (key == "cpu-host") {
      if (auto r = flag(caps.cpu_host_usable); !r) {
        return r;
      }
      caps.cpu_host_detail = caps.cpu_host_usable ? "" : "killed by signal 6 (abort): error: "
                                                         "failed to set MSR 0x10a to 0x69";
      caps.hyperv_probe_cpu = caps.cpu_host_usable ? "host" : "qemu64";
    } else if (key == "vhost-net") {
      return flag(caps.vhost_net);
    } else if (key.starts_with("hugepages-")) {
      const auto size = parse_binary_quantity(std::string_view(key).substr(10));
      const auto counts = split(value, '/');
      std::uint64_t total = 0;
      std::uint64_t free = 0;
      bool counted = counts.size() == 2;
      if (counted) {
        const auto t = number<std::uint64_t>(counts[0]);
        const auto f = number<std::uint64_t>(counts[1]);
        counted = t && f && *f <= *t;
        total = t.value_or(0);
        free = f.value_or(0);
      }
      if (!size || (*size != (2ULL << 20) && *size != (1ULL << 30))) {
        return std::unexpected(fmt::format("unknown host key \"{}\" in \"{}\": hugepage sizes are "
                                           "2Mi and 1Gi",
                                           key, w));
      }
      if (!counted) {
        return bad("TOTAL/FREE pages such as 1024/1024");
      }
      caps.hugepages[*size] = HugepagePool{total, free};
    } else if (key == "memory") {
      const auto bytes = parse_binary_quantity(value);
      if (!bytes || *bytes == 0) {
        return bad("a size such as 64Gi");
      }
      caps.memory_total = *bytes;
    } else if (key == "cpus") {
      const auto n = number<std::uint32_t>(value);
      if (!n || *n == 0) {
        return bad("a CPU count such as 16");
      }
      caps.cpus_online = *n;
    } else if (key == "tsc-khz") {
      const auto n = number<std::uint64_t>(value);
      if (!n) {
        return bad("a frequency in kHz");
      }
      caps.tsc_khz = *n;
    } else if (key == "tsc-scaling") {
      return flag(caps.tsc_scaling);
    } else if (key == "hyperv") {
      hyperv = std::string(value);
    } else if (key == "hyperv-tcg") {
      hyperv_tcg = std::string(value);
    } else if (key == "ovmf") {
      if (value != "debian" && value != "none") {
        return bad("debian or none");
      }
      caps.ovmf = value == "debian" ? debian_ovmf_images() : std::vector<OvmfImage>{};
    } else if (key == "swtpm") {
      bool present = false;
      if (auto r = flag(present); !r) {
        return r;
      }
      caps.swtpm = present ? typical_host().swtpm : SwtpmCaps{};
    } else if (key == "sev") {
      return flag(caps.sev);
    } else if (key == "snp") {
      return flag(caps.sev_snp);
    } else if (key == "tdx") {
      return flag(caps.tdx);
    } else if (key == "cpu-flags") {
      if (value.empty()) {
        return bad("skylake, none or a comma list of flags");
      }
      caps.cpu_flags = value == "skylake" ? skylake_cpu_flags()
                       : value == "none"  ? std::vector<std::string>{}
                                          : split(value, ',');
    } else if (key == "machines" || key == "cpu-models") {
      auto& list = key == "machines" ? caps.machine_types : caps.cpu_models;
      if (value == "debian") {
        list = key == "machines" ? qemu72_machines() : qemu72_cpu_models();
      } else if (value.empty()) {
        return bad("debian or a comma list of names");
      } else {
        list = split(value, ',');
      }
    } else {
      return std::unexpected(fmt::format("unknown host key \"{}\" in \"{}\"", key, w));
    }
    return {};
  }

  // Fills `accepted`/`detail` from an all|none|comma list, like the probe: a feature counts
  // as accepted only together with what it needs.
  static Result apply_list(const std::string& key, const std::string& list,
                           std::map<std::string, bool>& accepted_out,
                           std::map<std::string, std::string>& detail_out) {
    const auto& known = known_hyperv_features();
    std::vector<std::string> accepted;
    if (list == "all") {
      accepted = known;
    } else if (list != "none") {
      accepted = split(list, ',');
      for (const auto& f : accepted) {
        if (std::ranges::find(known, f) == known.end()) {
          return std::unexpected(fmt::format("unknown Hyper-V feature \"{}\" in \"{}={}\"; "
                                             "known: {}",
                                             f, key, list, fmt::join(known, ",")));
        }
      }
    }
    accepted_out.clear();
    detail_out.clear();
    for (const auto& f : known) {
      bool ok = std::ranges::find(accepted, f) != accepted.end();
      std::string why = "refused by the described host";
      for (const auto& dep : hyperv_dependencies(f)) {
        if (ok && !accepted_out[dep]) {
          ok = false;
          why = "needs " + dep + ", which is refused";
        }
      }
      accepted_out[f] = ok;
      if (!ok) {
        detail_out[f] = why;
      }
    }
    return {};
  }

  Result finish() {
    caps.hyperv_tcg_probed = true;
    if (auto r = apply_list("hyperv-tcg", hyperv_tcg, caps.hyperv_tcg, caps.hyperv_tcg_detail);
        !r) {
      return r;
    }
    caps.hyperv.clear();
    caps.hyperv_detail.clear();
    caps.hyperv_probed = caps.kvm_usable;
    if (!caps.kvm_usable) {
      caps.cpu_host_usable = false;
      caps.hyperv_probe_cpu.clear();
      if (hyperv) {
        return std::unexpected(fmt::format("\"hyperv={}\" needs kvm=yes: without KVM nothing is "
                                           "probed",
                                           *hyperv));
      }
      return {};
    }
    return apply_list("hyperv", hyperv.value_or("all"), caps.hyperv, caps.hyperv_detail);
  }
};

}  // namespace

std::expected<HostCaps, std::string> parse_host_caps(const std::string& text) {
  Parser parser;
  std::istringstream words(text);
  for (std::string w; words >> w;) {
    // Golden files carry the description as `# host: key=value ...` header lines.
    if (w == "#" || w == "host:" || w == "#host:") {
      continue;
    }
    if (auto r = parser.word(w); !r) {
      return std::unexpected(r.error());
    }
  }
  if (auto r = parser.finish(); !r) {
    return std::unexpected(r.error());
  }
  return std::move(parser.caps);
}

}  // namespace qmd::policy
