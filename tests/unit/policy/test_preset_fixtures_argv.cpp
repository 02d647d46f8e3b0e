// Upstream-layout preset files (tests/unit/policy/preset_fixtures: every kind, bundles of
// several documents, metadata annotations/labels, spec.annotations, requirements,
// preferredEfi and its deprecated predecessors) load unchanged, replace the built-ins of the
// same name, and a VM renders the same argv with the built-in as with the file.
// Built in unit-cmdline because it renders.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include "cmdline/render.hpp"
#include "policy/host_caps.hpp"
#include "policy/parse.hpp"
#include "policy/presets.hpp"

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
                    "preference \"windows.11\" from {0}/windows.11.yaml replaces the built-in "
                    "one\n"
                    "preference \"windows.2k16\" from {0}/windows.2k16.yaml replaces the "
                    "built-in one",
                    kFixtures));
  const std::pair<const char*, const char*> pairs[] = {{"u1.large", "windows.11"},
                                                       {"u1.large", "windows.2k16"},
                                                       {"cx1.large", "fedora"},
                                                       {"rt1.large", "rhel.9"},
                                                       {"o1.medium", "debian"}};
  for (const auto& [type, pref] : pairs) {
    CAPTURE(type);
    CAPTURE(pref);
    const auto text = vm(type, pref);
    CHECK(argv(text, *files) == argv(text, builtins));
  }
}
