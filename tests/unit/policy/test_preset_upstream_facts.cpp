// Every built-in compared field by field with upstream's values, recorded as facts in
// preset_upstream_facts.hpp (preferences, with where each was read) and below (instancetypes:
// README.md @02d112e6, cx/1/sizes.yaml @cd946235, cx/1/cx1.yaml @55be4883, d/1/d1.yaml @754a058d
// + sizes @1fe0c1d5, m/1/m1.yaml @d1fcb24e, n/1/n1.yaml @5b4cfa70, o/1/o1.yaml @216ef441,
// rt/1/rt1.yaml + sizes @193b4ebf, all in kubevirt/common-instancetypes).
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <map>
#include <set>

#include "policy/preset_model.hpp"
#include "preset_upstream_facts.hpp"

using namespace qmd::policy;
using namespace qmd::policy::presets;
using namespace qmd::test::upstream;

namespace {

struct InstancetypeFact {
  const char* series;
  const char* traits;  // pinned, isolated, numa, realtime, hugepages=…, iothreads=auto, …
  std::vector<std::pair<const char*, std::pair<unsigned, const char*>>> sizes;
};

const std::vector<InstancetypeFact> kInstancetypes = {
    {"u1",
     "",
     {{"nano", {1, "512Mi"}},
      {"micro", {1, "1Gi"}},
      {"small", {1, "2Gi"}},
      {"medium", {1, "4Gi"}},
      {"2xmedium", {2, "4Gi"}},
      {"large", {2, "8Gi"}},
      {"xlarge", {4, "16Gi"}},
      {"2xlarge", {8, "32Gi"}},
      {"4xlarge", {16, "64Gi"}},
      {"8xlarge", {32, "128Gi"}}}},
    {"o1",
     "overcommitPercent",
     {{"nano", {1, "512Mi"}},
      {"micro", {1, "1Gi"}},
      {"small", {1, "2Gi"}},
      {"medium", {1, "4Gi"}},
      {"large", {2, "8Gi"}},
      {"xlarge", {4, "16Gi"}},
      {"2xlarge", {8, "32Gi"}},
      {"4xlarge", {16, "64Gi"}},
      {"8xlarge", {32, "128Gi"}}}},
    {"cx1",
     "pinned isolated numa hugepages=2Mi iothreads=auto",
     {{"medium", {1, "2Gi"}},
      {"large", {2, "4Gi"}},
      {"xlarge", {4, "8Gi"}},
      {"2xlarge", {8, "16Gi"}},
      {"4xlarge", {16, "32Gi"}},
      {"8xlarge", {32, "64Gi"}}}},
    {"cx1",
     "pinned isolated numa hugepages=1Gi iothreads=auto",
     {{"medium1gi", {1, "2Gi"}},
      {"large1gi", {2, "4Gi"}},
      {"xlarge1gi", {4, "8Gi"}},
      {"2xlarge1gi", {8, "16Gi"}},
      {"4xlarge1gi", {16, "32Gi"}},
      {"8xlarge1gi", {32, "64Gi"}}}},
    {"d1",
     "pinned isolated iothreads=auto",
     {{"nano", {1, "512Mi"}},
      {"micro", {1, "1Gi"}},
      {"small", {1, "2Gi"}},
      {"medium", {1, "4Gi"}},
      {"2xmedium", {2, "4Gi"}},
      {"large", {2, "8Gi"}},
      {"xlarge", {4, "16Gi"}},
      {"2xlarge", {8, "32Gi"}},
      {"4xlarge", {16, "64Gi"}},
      {"8xlarge", {32, "128Gi"}}}},
    {"m1",
     "hugepages=2Mi",
     {{"large", {2, "16Gi"}},
      {"xlarge", {4, "32Gi"}},
      {"2xlarge", {8, "64Gi"}},
      {"4xlarge", {16, "128Gi"}},
      {"8xlarge", {32, "256Gi"}}}},
    {"n1",
     "pinned isolated hugepages=1Gi annotations",
     {{"medium", {4, "4Gi"}},
      {"large", {4, "8Gi"}},
      {"xlarge", {8, "16Gi"}},
      {"2xlarge", {16, "32Gi"}},
      {"4xlarge", {32, "64Gi"}},
      {"8xlarge", {64, "128Gi"}}}},
    {"rt1",
     "pinned isolated numa realtime hugepages=1Gi annotations",
     {{"micro", {1, "1Gi"}},
      {"small", {1, "2Gi"}},
      {"medium", {1, "4Gi"}},
      {"large", {2, "8Gi"}},
      {"xlarge", {4, "16Gi"}},
      {"2xlarge", {8, "32Gi"}},
      {"4xlarge", {16, "64Gi"}},
      {"8xlarge", {32, "128Gi"}}}},
};

constexpr std::uint64_t kMi = 1024 * 1024;

std::string mem(std::uint64_t bytes) {
  if (bytes % (1024 * kMi) == 0) {
    return fmt::format("{}Gi", bytes / (1024 * kMi));
  }
  if (bytes > 1024 * kMi && (bytes * 2) % (1024 * kMi) == 0) {
    return fmt::format("{}.5Gi", bytes / (1024 * kMi));
  }
  return fmt::format("{}Mi", bytes / kMi);
}

std::string on(bool b) { return b ? "true" : "false"; }

// The fact's row as one line.
std::string expected(const PreferenceFact& f) {
  return fmt::format(
      "disk={} nic={} topology={} efi={} smm={} tpm={} hyperv={} rng={} iothread={} mq={} "
      "input={} grace={} req={}/{} arch={} extra={}",
      f.disk_bus, f.interface_model, f.topology, f.efi, on(f.smm), on(f.tpm_persistent),
      f.hyperv_windows ? kWindowsHyperv : "", on(f.rng), on(f.dedicated_io_thread),
      on(f.multiqueue), f.input, f.grace, f.req_cpu, f.req_memory, f.arch, f.extra);
}

// spreadOptions and the autoattach switches, in the fact's `extra` terms.
std::string extra(const Preference& p) {
  std::vector<std::string> out;
  if (p.spread.across || p.spread.ratio) {
    out.push_back(fmt::format("spread={}/{}", p.spread.across.value_or("-"),
                              p.spread.ratio ? std::to_string(*p.spread.ratio) : "-"));
  }
  if (p.video_type) {
    out.push_back("video=" + *p.video_type);
  }
  for (auto [name, flag] : {std::pair{"graphics", &p.autoattach_graphics_device},
                            std::pair{"balloon", &p.autoattach_mem_balloon},
                            std::pair{"serial", &p.autoattach_serial_console},
                            std::pair{"transitional", &p.use_virtio_transitional}}) {
    if (*flag) {
      out.push_back(fmt::format("{}={}", name, on(**flag)));
    }
  }
  for (const auto& [key, value] : p.annotations) {
    out.push_back(fmt::format("annotation:{}={}", key, value));
  }
  return fmt::format("{}", fmt::join(out, " "));
}

std::string efi(const std::optional<EfiSpec>& e) {
  if (!e) {
    return "";
  }
  std::string out = e->secure_boot.value_or(true) ? "sb" : "no-sb";
  return e->persistent.value_or(false) ? out + "+persistent" : out;
}

std::string hyperv(const Preference& p) {
  if (!p.hyperv) {
    return "";
  }
  const auto& hv = *p.hyperv;
  std::string out = fmt::format("{}hpet.present={} pit={} rtc={}{}{}{}", p.utc ? "utc " : "",
                                p.hpet && p.hpet->present ? on(*p.hpet->present) : "-",
                                p.pit ? p.pit->tick_policy.value_or("-") : "-",
                                p.rtc ? p.rtc->tick_policy.value_or("-") : "-",
                                p.hyperv_timer ? " hyperv-timer" : "", p.acpi ? " acpi" : "",
                                p.apic ? " apic" : "");
  for (auto [name, t] : {std::pair{"relaxed", &hv.relaxed}, std::pair{"vapic", &hv.vapic},
                         std::pair{"vpindex", &hv.vpindex}}) {
    out += *t ? fmt::format(" {}", name) : "";
  }
  out += hv.spinlocks ? fmt::format(" spinlocks={}", hv.spinlocks->retries.value_or(0)) : "";
  out += hv.synic ? " synic" : "";
  out += hv.synictimer && hv.synictimer->direct_set ? " synictimer.direct" : "";
  out += hv.tlbflush ? " tlbflush" : "";
  for (auto [name, t] : {std::pair{"frequencies", &hv.frequencies},
                         std::pair{"reenlightenment", &hv.reenlightenment},
                         std::pair{"ipi", &hv.ipi}, std::pair{"runtime", &hv.runtime},
                         std::pair{"reset", &hv.reset}, std::pair{"evmcs", &hv.evmcs}}) {
    out += *t ? fmt::format(" {}", name) : "";
  }
  return out;
}

std::string input(const Preference& p) {
  std::string out = p.autoattach_input_device.value_or(false) ? "autoattach" : "";
  out += p.input_bus ? "," + *p.input_bus : "";
  out += p.input_type ? "," + *p.input_type : "";
  return out;
}

// The built-in preference as one line, in the fact's terms.
std::string actual(const Preference& p) {
  const auto& r = p.requirements;
  const std::string arch = p.architecture.value_or("") == r.architecture.value_or("")
                               ? p.architecture.value_or("")
                               : "preferred/required differ";
  return fmt::format(
      "disk={} nic={} topology={} efi={} smm={} tpm={} hyperv={} rng={} iothread={} mq={} "
      "input={} grace={} req={}/{} arch={} extra={}",
      p.disk_bus.value_or(""), p.interface_model.value_or(""), p.cpu_topology.value_or(""),
      efi(p.efi), on(p.smm.has_value()), on(p.tpm && p.tpm->persistent.value_or(false)), hyperv(p),
      on(p.rng.value_or(false)), on(p.disk_dedicated_io_thread.value_or(false)),
      on(p.network_interface_multiqueue.value_or(false)), input(p),
      p.termination_grace_period_seconds.value_or(0), r.cpu_guest.value_or(0),
      r.memory_guest ? mem(*r.memory_guest) : "", arch, extra(p));
}

std::string traits(const Instancetype& it) {
  std::vector<std::string> out;
  auto unapplied = [&](std::string_view path) {
    return std::ranges::any_of(it.unapplied, [&](const SpecError& e) { return e.path == path; });
  };
  if (unapplied("spec.memory.overcommitPercent")) {
    out.push_back("overcommitPercent");
  }
  if (it.dedicated_cpu_placement.value_or(false)) {
    out.push_back("pinned");
  }
  if (it.isolate_emulator_thread.value_or(false)) {
    out.push_back("isolated");
  }
  if (it.numa_guest_mapping_passthrough.value_or(false)) {
    out.push_back("numa");
  }
  if (unapplied("spec.cpu.realtime")) {
    out.push_back("realtime");
  }
  if (it.hugepages_page_size) {
    out.push_back("hugepages=" + mem(*it.hugepages_page_size));
  }
  if (it.io_threads_policy) {
    out.push_back("iothreads=" + *it.io_threads_policy);
  }
  if (unapplied("spec.annotations")) {
    out.push_back("annotations");
  }
  return fmt::format("{}", fmt::join(out, " "));
}

std::map<std::string, Preset> builtins() {
  std::map<std::string, Preset> out;
  for (const auto& doc : builtin_preset_documents()) {
    auto preset = read_preset(doc, kBuiltinOrigin);
    REQUIRE_MESSAGE(preset, (preset ? "" : to_string(preset.error())));
    const auto name = std::visit([](const auto& p) { return p.name; }, *preset);
    REQUIRE_MESSAGE(out.emplace(name, std::move(*preset)).second, name);
  }
  return out;
}

}  // namespace

TEST_CASE("every built-in preference equals upstream's facts, and each fact is built in") {
  const auto all = builtins();
  std::set<std::string> seen;
  for (const auto& fact : kPreferences) {
    CAPTURE(fact.name);
    auto it = all.find(fact.name);
    REQUIRE(it != all.end());
    const auto* pref = std::get_if<Preference>(&it->second);
    REQUIRE(pref);
    CHECK(pref->kind == "VirtualMachineClusterPreference");
    CHECK(actual(*pref) == expected(fact));
    seen.insert(fact.name);
  }
  for (const auto& [name, preset] : all) {
    if (std::holds_alternative<Preference>(preset)) {
      CHECK_MESSAGE(seen.contains(name), (name + " is built in but has no upstream fact"));
    }
  }
}

TEST_CASE("every built-in instancetype equals upstream's series and sizes, and only those") {
  const auto all = builtins();
  std::set<std::string> seen;
  for (const auto& fact : kInstancetypes) {
    for (const auto& [size, shape] : fact.sizes) {
      const std::string name = fmt::format("{}.{}", fact.series, size);
      CAPTURE(name);
      auto it = all.find(name);
      REQUIRE(it != all.end());
      const auto* type = std::get_if<Instancetype>(&it->second);
      REQUIRE(type);
      CHECK(type->kind == "VirtualMachineClusterInstancetype");
      CHECK(fmt::format("{}/{} {}", type->cpu_guest, mem(type->memory_guest), traits(*type)) ==
            fmt::format("{}/{} {}", shape.first, shape.second, fact.traits));
      seen.insert(name);
    }
  }
  for (const auto& [name, preset] : all) {
    if (std::holds_alternative<Instancetype>(preset)) {
      CHECK_MESSAGE(seen.contains(name), (name + " is built in but has no upstream fact"));
    }
  }
}
