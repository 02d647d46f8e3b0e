// GET /v1/host's preset listing: each preset with its origin, replacements, broken presets
// with their errors, and the files that failed.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <boost/json/serialize.hpp>
#include <filesystem>
#include <fstream>

#include "daemon/api/presets_json.hpp"

namespace json = boost::json;

TEST_CASE("the host document lists presets with their origin and the files that failed") {
  const auto dir =
      std::filesystem::temp_directory_path() / fmt::format("qmd-presets-json-{}", ::getpid());
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "a.yaml") << "kind: VirtualMachinePreference\nmetadata: {name: linux}\n"
                                   "spec: {devices: {preferredDiskBus: sata}}\n";
  std::ofstream(dir / "b.yaml") << "kind: VirtualMachinePreference\nmetadata: {name: mine}\n"
                                   "spec: {devices: {bus: sata}}\n";
  auto catalog = qmd::policy::PresetCatalog::load(dir.string());
  std::filesystem::remove_all(dir);
  REQUIRE(catalog);
  const auto doc = qmd::daemon::api::presets_json(*catalog);
  const auto& presets = doc.at("presets").as_array();
  auto find = [&](std::string_view name) {
    for (const auto& p : presets) {
      if (p.at("name").as_string() == name) {
        return json::serialize(p);
      }
    }
    return std::string("(absent)");
  };
  const auto a = (dir / "a.yaml").string();
  const auto b = (dir / "b.yaml").string();
  CHECK(find("u1.small") == R"({"family":"instancetype","name":"u1.small","origin":"built-in",)"
                            R"("kind":"VirtualMachineClusterInstancetype"})");
  CHECK(find("linux") ==
        fmt::format(R"({{"family":"preference","name":"linux","origin":"{}",)"
                    R"("kind":"VirtualMachinePreference","replacesBuiltIn":true}})",
                    a));
  CHECK(find("mine").starts_with(fmt::format(
      R"({{"family":"preference","name":"mine","origin":"{}","errors":["spec.devices.bus: )", b)));
  CHECK(json::serialize(doc.at("failedFiles"))
            .starts_with(fmt::format(
                R"([{{"file":"{}","errors":["spec.devices.bus: unknown field \"bus\")", b)));
}
