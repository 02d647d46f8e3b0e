#include <doctest/doctest.h>
#include <fmt/format.h>

#include <filesystem>
#include <fstream>

#include "policy/parse.hpp"
#include "policy/presets.hpp"

using namespace qmd::policy;

namespace {

constexpr std::uint64_t kMi = 1024 * 1024;
constexpr std::uint64_t kGi = 1024 * kMi;

// A VirtualMachine; `extra` goes under spec (indent 2), `domain` under its domain (indent 6).
// The instancetype line, when given, is line 5.
std::string vm(const std::string& extra, const std::string& domain = "") {
  return "apiVersion: kubevirt.io/v1\nkind: VirtualMachine\nmetadata: {name: t}\nspec:\n" + extra +
         "  template:\n    spec:\n      domain:\n" +
         (domain.empty() ? std::string("        devices: {}\n") : domain);
}

const PresetCatalog& builtins() {
  static const PresetCatalog catalog = *PresetCatalog::load();
  return catalog;
}

std::expected<VmSpec, SpecErrors> expand(const std::string& text,
                                         const PresetCatalog& catalog = builtins()) {
  auto spec = parse_spec(text, "vm.yaml");
  REQUIRE_MESSAGE(spec, (spec ? "" : to_string(spec.error())));
  return apply_presets(*spec, catalog);
}

std::string errors(const std::expected<VmSpec, SpecErrors>& result) {
  return result ? std::string("(ok)") : to_string(result.error());
}

template <typename T>
std::string opt(const std::optional<T>& v) {
  return v ? fmt::format("{}", *v) : "-";
}

std::string toggle(const std::optional<Toggle>& t) {
  return t ? (t->enabled ? fmt::format("{}", *t->enabled) : "{}") : "-";
}

// What a preference can set, in one line.
std::string preferred(const VmSpec& s) {
  const auto& d = s.domain;
  std::string out = fmt::format(
      "boot={} sb={} smm={} acpi={} apic={} utc={} hpet={} pit={} rtc={} hvtimer={} tpm={} "
      "rng={}",
      static_cast<int>(d.firmware.bootloader), opt(d.firmware.efi.secure_boot),
      toggle(d.features.smm), toggle(d.features.acpi), toggle(d.features.apic), d.clock.utc_set,
      d.clock.hpet ? opt(d.clock.hpet->present) : "-",
      d.clock.pit ? opt(d.clock.pit->tick_policy) : "-",
      d.clock.rtc ? opt(d.clock.rtc->tick_policy) : "-", d.clock.hyperv ? "{}" : "-",
      d.devices.tpm ? "{}" : "-", opt(d.devices.rng));
  if (const auto& hv = d.features.hyperv) {
    out += fmt::format(
        " hv=relaxed:{},vapic:{},vpindex:{},runtime:{},synic:{},reset:{},frequencies:{},"
        "reenlightenment:{},ipi:{},evmcs:{},spinlocks:{},stimer-direct:{},tlbflush:{}",
        toggle(hv->relaxed), toggle(hv->vapic), toggle(hv->vpindex), toggle(hv->runtime),
        toggle(hv->synic), toggle(hv->reset), toggle(hv->frequencies), toggle(hv->reenlightenment),
        toggle(hv->ipi), toggle(hv->evmcs), hv->spinlocks ? opt(hv->spinlocks->retries) : "-",
        hv->synictimer ? fmt::format("{}", hv->synictimer->direct_set) : "-",
        hv->tlbflush ? "{}" : "-");
  }
  for (const auto& disk : d.devices.disks) {
    out += fmt::format(" disk:{}:{}", disk.name, opt(disk.bus));
  }
  for (const auto& nic : d.devices.interfaces) {
    out += fmt::format(" nic:{}:{}", nic.name, opt(nic.model));
  }
  return out;
}

// A scratch directory removed at the end of the test.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    path = std::filesystem::temp_directory_path() /
           fmt::format("qmd-presets-{}-{}", ::getpid(), counter()++);
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  static int& counter() {
    static int n = 0;
    return n;
  }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(path / name) << text;
    return (path / name).string();
  }
};

}  // namespace

TEST_CASE("a VM without instancetype or preference comes back unchanged") {
  auto out = expand(vm("", "        cpu: {cores: 3}\n        memory: {guest: 1Gi}\n"));
  REQUIRE(out);
  CHECK(out->domain.cpu.cores == 3u);
  CHECK_FALSE(out->domain.cpu.sockets);
  CHECK(out->domain.memory.guest == kGi);
  CHECK(preferred(*out) ==
        "boot=0 sb=- smm=- acpi=- apic=- utc=false hpet=- pit=- rtc=- hvtimer=- tpm=- rng=-");
}

TEST_CASE("the built-in catalog loads without failures, every preset built in") {
  CHECK(builtins().failures().empty());
  CHECK(builtins().notes().empty());
  for (const auto& p : builtins().listing()) {
    CAPTURE(p.name);
    CHECK(p.origin == "built-in");
    CHECK(p.errors.empty());
  }
  CHECK(builtins().instancetype_names().size() == 60);
  CHECK(builtins().preference_names().size() == 48);
}

TEST_CASE("each u1 instancetype sets vCPUs as sockets and guest memory as upstream") {
  struct Row {
    const char* name;
    std::uint32_t vcpus;
    std::uint64_t memory;
  };
  const Row rows[] = {{"u1.nano", 1, 512 * kMi},    {"u1.micro", 1, kGi},
                      {"u1.small", 1, 2 * kGi},     {"u1.medium", 1, 4 * kGi},
                      {"u1.2xmedium", 2, 4 * kGi},  {"u1.large", 2, 8 * kGi},
                      {"u1.xlarge", 4, 16 * kGi},   {"u1.2xlarge", 8, 32 * kGi},
                      {"u1.4xlarge", 16, 64 * kGi}, {"u1.8xlarge", 32, 128 * kGi}};
  for (const auto& row : rows) {
    CAPTURE(row.name);
    auto out = expand(vm(fmt::format("  instancetype: {{name: {}}}\n", row.name)));
    REQUIRE(out);
    const auto& cpu = out->domain.cpu;
    CHECK(fmt::format("{}/{}/{} {}", opt(cpu.sockets), opt(cpu.cores), opt(cpu.threads),
                      opt(out->domain.memory.guest)) ==
          fmt::format("{}/1/1 {}", row.vcpus, row.memory));
  }
}

TEST_CASE("Windows preferences: UEFI with secure boot and SMM; 10/11/2k22 add a TPM") {
  const std::string base = "acpi={} apic={} utc=true hpet=false pit=delay rtc=catchup hvtimer={} ";
  const std::string hv =
      " hv=relaxed:{},vapic:{},vpindex:{},runtime:{},synic:{},reset:{},frequencies:{},"
      "reenlightenment:{},ipi:{},evmcs:-,spinlocks:8191,stimer-direct:true,tlbflush:{}";
  const std::string devices =
      "        cpu: {cores: 2}\n"
      "        devices:\n          disks: [{name: root}, {name: cd, cdrom: {}}]\n"
      "          interfaces: [{name: default, masquerade: {}}]\n";
  struct Row {
    const char* name;
    const char* tpm;
  };
  for (const auto& row : {Row{"windows.10", "{}"}, Row{"windows.11", "{}"},
                          Row{"windows.2k16", "-"}, Row{"windows.2k19", "-"},
                          Row{"windows.2k22", "{}"}, Row{"windows.2k25", "{}"}}) {
    CAPTURE(row.name);
    auto out = expand(vm(fmt::format("  preference: {{name: {}}}\n", row.name), devices));
    REQUIRE(out);
    CHECK(preferred(*out) == "boot=2 sb=true smm={} " + base + "tpm=" + row.tpm + " rng=-" + hv +
                                 " disk:root:sata disk:cd:- nic:default:e1000e");
    CHECK(out->termination_grace_period_seconds == 3600);
    CHECK(out->domain.devices.autoattach_input_device == true);
  }
}

TEST_CASE("windows.11, 2k22 and 2k25 persist EFI variables and the TPM; 10 and 11 use cores") {
  for (const char* name : {"windows.11", "windows.2k22", "windows.2k25", "windows.10"}) {
    CAPTURE(name);
    auto out = expand(vm(fmt::format("  instancetype: {{name: u1.xlarge}}\n"
                                     "  preference: {{name: {}}}\n",
                                     name)));
    REQUIRE(out);
    const auto& d = out->domain;
    const bool efi_vars = std::string_view(name) != "windows.10";
    CHECK(d.firmware.efi.persistent == (efi_vars ? std::optional<bool>(true) : std::nullopt));
    CHECK(d.devices.tpm->persistent == true);
    const bool client = std::string_view(name).starts_with("windows.1");
    CHECK(fmt::format("{}/{}/{}", *d.cpu.sockets, *d.cpu.cores, *d.cpu.threads) ==
          (client ? "1/4/1" : "4/1/1"));
  }
}

TEST_CASE("linux preferences use virtio and an RNG; fedora and rhel.9 boot secure, debian EFI") {
  struct Row {
    const char* name;
    const char* firmware;
  };
  for (const auto& row : {Row{"linux", "boot=0 sb=- smm=-"}, Row{"ubuntu", "boot=0 sb=- smm=-"},
                          Row{"fedora", "boot=2 sb=true smm={}"},
                          Row{"rhel.9", "boot=2 sb=true smm={}"},
                          Row{"debian", "boot=2 sb=false smm=-"}}) {
    CAPTURE(row.name);
    auto out = expand(vm(fmt::format("  instancetype: {{name: u1.medium}}\n"
                                     "  preference: {{name: {}}}\n",
                                     row.name),
                         "        devices:\n          disks: [{name: root}]\n"));
    REQUIRE(out);
    CHECK(preferred(*out) == std::string(row.firmware) +
                                 " acpi=- apic=- utc=false hpet=- pit=- rtc=- "
                                 "hvtimer=- tpm=- rng=true disk:root:virtio nic:default:virtio");
  }
}

TEST_CASE("a preference fills only what the VM leaves unset") {
  auto out = expand(vm("  preference: {name: windows.11}\n",
                       "        cpu: {cores: 2}\n"
                       "        firmware: {bootloader: {bios: {}}}\n"
                       "        clock: {timezone: Europe/Berlin, timer: {hpet: {present: true}}}\n"
                       "        features: {hyperv: {spinlocks: {spinlocks: 4096}}}\n"
                       "        devices:\n          disks: [{name: a, disk: {bus: virtio}}, "
                       "{name: b}]\n"));
  REQUIRE(out);
  const auto& d = out->domain;
  CHECK(d.firmware.bootloader == BootloaderKind::bios);
  CHECK_FALSE(d.firmware.efi.secure_boot);
  CHECK_FALSE(d.clock.utc_set);
  CHECK(d.clock.hpet->present == true);
  CHECK(d.features.hyperv->spinlocks->retries == 4096u);
  CHECK(d.features.hyperv->relaxed);
  CHECK(d.devices.disks[0].bus == "virtio");
  CHECK(d.devices.disks[1].bus == "sata");
}

TEST_CASE("VM fields an instancetype owns are errors naming both") {
  auto out = expand(vm("  instancetype: {name: u1.small}\n",
                       "        cpu: {cores: 2}\n        memory: {guest: 1Gi}\n"
                       "        resources: {requests: {memory: 1Gi}}\n"));
  CHECK(errors(out) ==
        "spec.template.spec.domain.cpu.cores: conflicts with instancetype \"u1.small\" "
        "(spec.instancetype.name), which sets the vCPUs; remove this field or the "
        "instancetype (vm.yaml:9:15)\n"
        "spec.template.spec.domain.memory.guest: conflicts with instancetype \"u1.small\" "
        "(spec.instancetype.name), which sets the guest memory; remove this field or the "
        "instancetype (vm.yaml:10:18)\n"
        "spec.template.spec.domain.resources.requests.memory: conflicts with instancetype "
        "\"u1.small\" (spec.instancetype.name), which sets the guest memory; remove this field "
        "or the instancetype (vm.yaml:11:32)\n");
}

TEST_CASE("unknown preset names list the available ones") {
  auto out = expand(vm("  instancetype: {name: u1.huge}\n  preference: {name: windows.95}\n"));
  const auto text = errors(out);
  CHECK(text.starts_with("spec.instancetype.name: unknown instancetype \"u1.huge\"; available: "
                         "cx1.2xlarge, cx1.2xlarge1gi, "));
  CHECK(text.find(", u1.small, u1.xlarge (vm.yaml:5:18)\n"
                  "spec.preference.name: unknown preference \"windows.95\"; available: alpine, "
                  "centos.stream10, ") != std::string::npos);
  CHECK(text.ends_with(", windows.xp (vm.yaml:6:16)\n"));
}

TEST_CASE("user presets from a directory: instancetype with extras, preferred topology") {
  TempDir dir;
  dir.write("big.yaml", R"(apiVersion: instancetype.kubevirt.io/v1beta1
kind: VirtualMachineInstancetype
metadata: {name: pinned.large}
spec:
  cpu: {guest: 4, dedicatedCPUPlacement: true, isolateEmulatorThread: true}
  memory: {guest: 8Gi, hugepages: {pageSize: 1Gi}}
  ioThreadsPolicy: auto
)");
  dir.write("cores.yaml", R"(kind: VirtualMachinePreference
metadata: {name: cores}
spec:
  cpu: {preferredCPUTopology: preferCores}
  machine: {preferredMachineType: pc-q35-7.2}
)");
  dir.write("notes.txt", "not a preset");
  auto catalog = PresetCatalog::load(dir.path.string());
  REQUIRE_MESSAGE(catalog, (catalog ? "" : to_string(catalog.error())));
  auto out =
      expand(vm("  instancetype: {name: pinned.large}\n  preference: {name: cores}\n"), *catalog);
  REQUIRE(out);
  const auto& d = out->domain;
  CHECK(fmt::format("{}/{}/{} {} {} {} {} {} {}", opt(d.cpu.sockets), opt(d.cpu.cores),
                    opt(d.cpu.threads), opt(d.cpu.dedicated_cpu_placement),
                    opt(d.cpu.isolate_emulator_thread), opt(d.memory.guest),
                    opt(d.memory.hugepages_page_size), opt(d.io_threads_policy),
                    opt(d.machine.type)) ==
        fmt::format("1/4/1 true true {} {} auto pc-q35-7.2", 8 * kGi, kGi));
}

TEST_CASE("bad user preset files are listed with file:line:col; the rest loads") {
  TempDir dir;
  const auto bad = dir.write("bad.yaml", R"(kind: VirtualMachineInstancetype
metadata: {name: odd}
spec:
  cpu: {guest: 2, sockets: 2}
  memory: {guest: lots}
)");
  const auto kind = dir.write("kind.yaml", "kind: VirtualMachine\nmetadata: {name: x}\n");
  const auto zero = dir.write("zero.yaml", R"(kind: VirtualMachineInstancetype
metadata: {name: zero}
spec: {cpu: {guest: 0}, memory: {guest: 1Gi}}
)");
  auto catalog = PresetCatalog::load(dir.path.string());
  REQUIRE(catalog);
  std::string failed;
  for (const auto& f : catalog->failures()) {
    failed += to_string(f.errors);
  }
  CHECK(failed ==
        "spec.cpu.sockets: unknown field \"sockets\"; known fields here: guest, model, "
        "dedicatedCPUPlacement, isolateEmulatorThread, numa, realtime, maxSockets (" +
            bad +
            ":4:19)\n"
            "spec.memory.guest: \"lots\" is not a byte quantity: use a whole number of bytes or a "
            "number with a suffix Ki, Mi, Gi, Ti, Pi, Ei (powers of 1024) or k, M, G, T, P, E "
            "(powers of 1000), such as 8Gi, 512Mi or 1.5G (" +
            bad +
            ":5:19)\n"
            "spec: missing required field \"spec\" (" +
            kind +
            ":1:1)\n"
            "kind: \"VirtualMachine\" is not a preset kind; use VirtualMachineInstancetype, "
            "VirtualMachineClusterInstancetype, VirtualMachinePreference or "
            "VirtualMachineClusterPreference (" +
            kind +
            ":1:7)\n"
            "spec.cpu.guest: must be at least 1 (" +
            zero + ":3:14)\n");
  CHECK(catalog->preference_names() == builtins().preference_names());
}

TEST_CASE("a missing preset directory is an error") {
  auto catalog = PresetCatalog::load("/nonexistent/qmd-presets");
  REQUIRE_FALSE(catalog);
  CHECK(to_string(catalog.error()) ==
        "preset directory cannot be read: No such file or directory (/nonexistent/qmd-presets)\n");
}
