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

TEST_CASE("the built-in catalog lists the u1 sizes and the OS preferences") {
  CHECK(fmt::format("{}", fmt::join(builtins().instancetype_names(), " ")) ==
        "u1.2xlarge u1.2xmedium u1.4xlarge u1.8xlarge u1.large u1.medium u1.micro u1.nano "
        "u1.small u1.xlarge");
  CHECK(fmt::format("{}", fmt::join(builtins().preference_names(), " ")) ==
        "debian fedora linux rhel.9 ubuntu windows.10 windows.11 windows.2k16 windows.2k19 "
        "windows.2k22");
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

TEST_CASE("windows.11 and windows.2k22 add EFI, secure boot, SMM and a TPM to the base") {
  const std::string base = "acpi={} apic={} utc=true hpet=false pit=delay rtc=catchup hvtimer={} ";
  const std::string hv =
      " hv=relaxed:{},vapic:{},vpindex:{},runtime:{},synic:{},reset:{},frequencies:{},"
      "reenlightenment:{},ipi:{},evmcs:-,spinlocks:8191,stimer-direct:true,tlbflush:{}";
  const std::string devices =
      "        devices:\n          disks: [{name: root}, {name: cd, cdrom: {}}]\n"
      "          interfaces: [{name: default, masquerade: {}}]\n";
  for (const char* name : {"windows.11", "windows.2k22"}) {
    CAPTURE(name);
    auto out = expand(vm(fmt::format("  preference: {{name: {}}}\n", name), devices));
    REQUIRE(out);
    CHECK(preferred(*out) == "boot=2 sb=true smm={} " + base + "tpm={} rng=-" + hv +
                                 " disk:root:sata disk:cd:- nic:default:e1000e");
  }
  for (const char* name : {"windows.10", "windows.2k16", "windows.2k19"}) {
    CAPTURE(name);
    auto out = expand(vm(fmt::format("  preference: {{name: {}}}\n", name), devices));
    REQUIRE(out);
    CHECK(preferred(*out) == "boot=0 sb=- smm=- " + base + "tpm=- rng=-" + hv +
                                 " disk:root:sata disk:cd:- nic:default:e1000e");
  }
}

TEST_CASE("linux preferences use virtio and add an RNG") {
  for (const char* name : {"linux", "fedora", "rhel.9", "ubuntu", "debian"}) {
    CAPTURE(name);
    auto out = expand(vm(fmt::format("  preference: {{name: {}}}\n", name),
                         "        devices:\n          disks: [{name: root}]\n"));
    REQUIRE(out);
    CHECK(preferred(*out) ==
          "boot=0 sb=- smm=- acpi=- apic=- utc=false hpet=- pit=- rtc=- "
          "hvtimer=- tpm=- rng=true disk:root:virtio nic:default:virtio");
  }
}

TEST_CASE("a preference fills only what the VM leaves unset") {
  auto out = expand(vm("  preference: {name: windows.11}\n",
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
  auto out = expand(vm("  instancetype: {name: u1.huge}\n  preference: {name: windows.7}\n"));
  CHECK(errors(out) ==
        "spec.instancetype.name: unknown instancetype \"u1.huge\"; available: u1.2xlarge, "
        "u1.2xmedium, u1.4xlarge, u1.8xlarge, u1.large, u1.medium, u1.micro, u1.nano, "
        "u1.small, u1.xlarge (vm.yaml:5:18)\n"
        "spec.preference.name: unknown preference \"windows.7\"; available: debian, fedora, "
        "linux, rhel.9, ubuntu, windows.10, windows.11, windows.2k16, windows.2k19, "
        "windows.2k22 (vm.yaml:6:16)\n");
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

TEST_CASE("bad user preset files fail with file:line:col; names cannot be reused") {
  TempDir dir;
  const auto bad = dir.write("bad.yaml", R"(kind: VirtualMachineInstancetype
metadata: {name: odd}
spec:
  cpu: {guest: 2, sockets: 2}
  memory: {guest: lots}
)");
  const auto dup = dir.write("dup.yaml", R"(kind: VirtualMachineClusterPreference
metadata: {name: linux}
spec: {}
)");
  const auto kind = dir.write("kind.yaml", "kind: VirtualMachine\nmetadata: {name: x}\n");
  const auto topo = dir.write("topo.yaml", R"(kind: VirtualMachinePreference
metadata: {name: topo}
spec: {cpu: {preferredCPUTopology: sideways}}
)");
  const auto zero = dir.write("zero.yaml", R"(kind: VirtualMachineInstancetype
metadata: {name: zero}
spec: {cpu: {guest: 0}, memory: {guest: 1Gi}}
)");
  auto catalog = PresetCatalog::load(dir.path.string());
  REQUIRE_FALSE(catalog);
  CHECK(to_string(catalog.error()) ==
        "spec.cpu.sockets: unknown field \"sockets\"; known fields here: guest, model, "
        "dedicatedCPUPlacement, isolateEmulatorThread, maxSockets (" +
            bad +
            ":4:19)\n"
            "spec.memory.guest: \"lots\" is not a byte quantity: use a whole number of bytes or a "
            "number "
            "with a suffix Ki, Mi, Gi, Ti, Pi, Ei (powers of 1024) or k, M, G, T, P, E (powers of "
            "1000), such as 8Gi, 512Mi or 1.5G (" +
            bad +
            ":5:19)\n"
            "metadata.name: preference \"linux\" is already defined in <built-in>; pick another "
            "name (" +
            dup +
            ":2:18)\n"
            "spec: missing required field \"spec\" (" +
            kind +
            ":1:1)\n"
            "kind: \"VirtualMachine\" is not a preset kind; use VirtualMachineInstancetype, "
            "VirtualMachineClusterInstancetype, VirtualMachinePreference or "
            "VirtualMachineClusterPreference (" +
            kind +
            ":1:7)\n"
            "spec.cpu.preferredCPUTopology: \"sideways\" is not one of preferSockets, preferCores, "
            "preferThreads, preferSpread, preferAny, sockets, cores, threads, spread, any (" +
            topo +
            ":3:14)\n"
            "spec.cpu.guest: must be at least 1 (" +
            zero + ":3:14)\n");
}

TEST_CASE("a missing preset directory is an error") {
  auto catalog = PresetCatalog::load("/nonexistent/qmd-presets");
  REQUIRE_FALSE(catalog);
  CHECK(to_string(catalog.error()) ==
        "preset directory cannot be read: No such file or directory (/nonexistent/qmd-presets)\n");
}
