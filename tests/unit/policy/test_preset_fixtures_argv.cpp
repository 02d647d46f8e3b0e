// Upstream-layout preset files (tests/unit/policy/preset_fixtures: every kind, bundles of
// several documents, metadata annotations/labels, spec.annotations, requirements,
// preferredEfi and its deprecated predecessors) load unchanged, replace the built-ins of the
// same name, and a VM renders the same argv with the built-in as with the file.
// Built in unit-cmdline because it renders.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <filesystem>
#include <fstream>

#include "cmdline/render.hpp"
#include "policy/host_caps.hpp"
#include "policy/parse.hpp"
#include "policy/presets.hpp"
#include "preset_upstream_facts.hpp"

using namespace qmd;

namespace {

const std::string kFixtures = std::string(QMD_SOURCE_DIR) + "/tests/unit/policy/preset_fixtures";

constexpr const char* kHost =
    "kvm=yes qemu=7.2.0 memory=256Gi cpus=64 hugepages-2Mi=32768/32768 hugepages-1Gi=64/64 "
    "vhost-net=yes";

std::string vm(const std::string& instancetype, const std::string& preference) {
  return fmt::format(R"(apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata: {{name: t}}
spec:
  instancetype: {{name: {}}}
  preference: {{name: {}}}
  template:
    spec:
      domain:
        devices:
          disks: [{{name: root}}]
      volumes:
      - name: root
        hostDisk: {{path: /var/lib/qmd/images/t.img, type: Disk}}
)",
                     instancetype, preference);
}

std::string argv(const std::string& text, const policy::PresetCatalog& catalog) {
  auto parsed = policy::parse_spec(text, "vm.yaml");
  REQUIRE_MESSAGE(parsed, (parsed ? "" : policy::to_string(parsed.error())));
  auto spec = policy::apply_presets(*parsed, catalog);
  REQUIRE_MESSAGE(spec, (spec ? "" : policy::to_string(spec.error())));
  auto host = policy::parse_host_caps(kHost);
  REQUIRE(host);
  cmdline::VmPaths paths{"/run/qmd/vms/t", "/var/lib/qmd/vms/t"};
  policy::RunPolicy rp;
  rp.state_dir = paths.state_dir;
  auto r = cmdline::render(*spec, *host, paths, rp);
  REQUIRE_MESSAGE(r, (r ? "" : policy::to_string(r.error())));
  return fmt::format("{}", fmt::join(r->argv.lines(), "\n"));
}

// A preference written from upstream's facts in upstream's layout (block style, keys sorted as
// kustomize emits them), independent of the built-in tables.
// One straight run of keys in kustomize's order: split, it would scatter that order.
std::string upstream_file(const test::upstream::PreferenceFact& f) {
  const std::string_view input = f.input;
  std::string out = fmt::format(
      "---\napiVersion: instancetype.kubevirt.io/v1beta1\nkind: VirtualMachineClusterPreference\n"
      "metadata:\n  labels:\n    instancetype.kubevirt.io/vendor: kubevirt.io\n  name: {}\nspec:\n",
      f.name);
  // One annotation at most: "annotation:<key>=<value>" in extra.
  if (const auto at = std::string_view(f.extra).find("annotation:"); at != std::string_view::npos) {
    auto pair = std::string_view(f.extra).substr(at + std::string_view("annotation:").size());
    pair = pair.substr(0, pair.find(' '));
    const auto eq = pair.find('=');
    out += fmt::format("  annotations:\n    {}: \"{}\"\n", pair.substr(0, eq), pair.substr(eq + 1));
  }
  if (f.hyperv_windows) {
    out +=
        "  clock:\n    preferredClockOffset:\n      utc: {}\n    preferredTimer:\n"
        "      hpet:\n        present: false\n      hyperv: {}\n      pit:\n"
        "        tickPolicy: delay\n      rtc:\n        tickPolicy: catchup\n";
  }
  const std::string_view extra = f.extra;
  auto token = [&](std::string_view key) -> std::string {  // "key=value" in extra -> value
    const auto at = extra.find(fmt::format("{}=", key));
    if (at == std::string_view::npos) {
      return "";
    }
    const auto value = extra.substr(at + key.size() + 1);
    return std::string(value.substr(0, value.find(' ')));
  };
  if (*f.topology != '\0') {
    out += fmt::format("  cpu:\n    preferredCPUTopology: {}\n", f.topology);
  }
  if (const auto spread = token("spread"); !spread.empty()) {
    const auto slash = spread.find('/');
    out += fmt::format("    spreadOptions:\n      across: {}\n", spread.substr(0, slash));
    out += spread.substr(slash + 1) != "-"
               ? fmt::format("      ratio: {}\n", spread.substr(slash + 1))
               : "";
  }
  out += "  devices:\n";
  for (auto [key, field] :
       {std::pair{"graphics", "GraphicsDevice"}, std::pair{"balloon", "MemBalloon"},
        std::pair{"serial", "SerialConsole"}}) {
    const auto value = token(key);
    out += value.empty() ? "" : fmt::format("    preferredAutoattach{}: {}\n", field, value);
  }
  out += input.empty() ? "" : "    preferredAutoattachInputDevice: true\n";
  out += fmt::format("    preferredDiskBus: {}\n", f.disk_bus);
  out += f.dedicated_io_thread ? "    preferredDiskDedicatedIoThread: true\n" : "";
  out += input.find("virtio") != std::string_view::npos ? "    preferredInputBus: virtio\n" : "";
  out += input.find("tablet") != std::string_view::npos ? "    preferredInputType: tablet\n" : "";
  out += fmt::format("    preferredInterfaceModel: {}\n", f.interface_model);
  out += f.multiqueue ? "    preferredNetworkInterfaceMultiQueue: true\n" : "";
  out += f.rng ? "    preferredRng: {}\n" : "";
  out += f.tpm_persistent ? "    preferredTPM:\n      persistent: true\n" : "";
  out += token("transitional").empty() ? "" : "    preferredUseVirtioTransitional: true\n";
  out += token("video").empty() ? "" : fmt::format("    preferredVideoType: {}\n", token("video"));
  if (f.hyperv_windows || f.smm) {
    out += "  features:\n";
  }
  if (f.hyperv_windows) {
    out +=
        "    preferredAcpi: {}\n    preferredApic: {}\n    preferredHyperv:\n"
        "      frequencies: {}\n      ipi: {}\n      reenlightenment: {}\n      relaxed: {}\n"
        "      reset: {}\n      runtime: {}\n      spinlocks:\n        spinlocks: 8191\n"
        "      synic: {}\n      synictimer:\n        direct: {}\n      tlbflush: {}\n"
        "      vapic: {}\n      vpindex: {}\n";
  }
  out += f.smm ? "    preferredSmm: {}\n" : "";
  const std::string_view efi = f.efi;
  if (!efi.empty()) {
    out += "  firmware:\n    preferredEfi:\n";
    out += efi.ends_with("+persistent") ? "      persistent: true\n" : "";
    out += efi.starts_with("sb") ? "      secureBoot: true\n" : "      secureBoot: false\n";
  }
  out += *f.arch != '\0' ? fmt::format("  preferredArchitecture: {}\n", f.arch) : "";
  out += f.grace != 0 ? fmt::format("  preferredTerminationGracePeriodSeconds: {}\n", f.grace) : "";
  if (f.req_cpu != 0 || *f.arch != '\0') {
    out += "  requirements:\n";
    out += *f.arch != '\0' ? fmt::format("    architecture: {}\n", f.arch) : "";
    out += f.req_cpu != 0 ? fmt::format("    cpu:\n      guest: {}\n    memory:\n      guest: {}\n",
                                        f.req_cpu, f.req_memory)
                          : "";
  }
  return out;
}

}  // namespace

TEST_CASE("upstream-layout files load and render exactly what the built-ins render") {
  const auto builtins = *policy::PresetCatalog::load();
  auto files = policy::PresetCatalog::load(kFixtures);
  REQUIRE(files);
  CHECK(files->failures().empty());
  CHECK(fmt::format("{}", fmt::join(files->notes(), "\n")) ==
        fmt::format("preference \"fedora\" from {0}/common-clusterpreferences-bundle.yaml "
                    "replaces the built-in one\n"
                    "preference \"rhel.9\" from {0}/common-clusterpreferences-bundle.yaml "
                    "replaces the built-in one\n"
                    "preference \"debian\" from {0}/common-clusterpreferences-bundle.yaml "
                    "replaces the built-in one\n"
                    "instancetype \"u1.large\" from {0}/common-instancetypes-bundle.yaml replaces "
                    "the built-in one\n"
                    "instancetype \"cx1.large\" from {0}/common-instancetypes-bundle.yaml replaces "
                    "the built-in one\n"
                    "instancetype \"rt1.large\" from {0}/common-instancetypes-bundle.yaml replaces "
                    "the built-in one\n"
                    "instancetype \"o1.medium\" from {0}/common-instancetypes-bundle.yaml replaces "
                    "the built-in one\n"
                    "instancetype \"d1.large\" from {0}/common-instancetypes-bundle.yaml replaces "
                    "the built-in one\n"
                    "instancetype \"m1.large\" from {0}/common-instancetypes-bundle.yaml replaces "
                    "the built-in one\n"
                    "instancetype \"n1.medium\" from {0}/common-instancetypes-bundle.yaml replaces "
                    "the built-in one\n"
                    "preference \"windows.11\" from {0}/windows.11.yaml replaces the built-in "
                    "one\n"
                    "preference \"windows.2k16\" from {0}/windows.2k16.yaml replaces the "
                    "built-in one",
                    kFixtures));
  const std::pair<const char*, const char*> pairs[] = {
      {"u1.large", "windows.11"}, {"u1.large", "windows.2k16"}, {"cx1.large", "fedora"},
      {"rt1.large", "rhel.9"},    {"o1.medium", "debian"},      {"d1.large", "linux"},
      {"m1.large", "ubuntu"},     {"n1.medium", "alpine"}};
  for (const auto& [type, pref] : pairs) {
    CAPTURE(type);
    CAPTURE(pref);
    const auto text = vm(type, pref);
    CHECK(argv(text, *files) == argv(text, builtins));
  }
}

TEST_CASE("every built-in preference renders what a file with upstream's values renders") {
  const auto builtins = *policy::PresetCatalog::load();
  const auto dir =
      std::filesystem::temp_directory_path() / fmt::format("qmd-upstream-prefs-{}", ::getpid());
  std::filesystem::create_directories(dir);
  for (const auto& fact : test::upstream::kPreferences) {
    std::ofstream(dir / fmt::format("{}.yaml", fact.name)) << upstream_file(fact);
  }
  auto files = policy::PresetCatalog::load(dir.string());
  std::filesystem::remove_all(dir);
  REQUIRE(files);
  CHECK(files->failures().empty());
  CHECK(files->notes().size() == std::size(test::upstream::kPreferences));
  for (const auto& fact : test::upstream::kPreferences) {
    CAPTURE(fact.name);
    const auto text = vm(fact.req_cpu > 4 ? "u1.2xlarge" : "u1.xlarge", fact.name);
    CHECK(argv(text, *files) == argv(text, builtins));
  }
}
