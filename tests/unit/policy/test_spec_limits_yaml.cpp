// check_yaml_size and parse_spec on texts that would make yaml-cpp loop or balloon.
#include <doctest/doctest.h>

#include <fstream>
#include <string>

#include "policy/parse.hpp"
#include "policy/spec_limits.hpp"

using namespace qmd::policy;

namespace {

// VmHWM - VmRSS after clearing the peak: how far `work` took the resident set above where it
// started, in KiB.
long peak_kib(const char* field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with(field)) {
      return std::stol(line.substr(std::string(field).size()));
    }
  }
  return -1;
}

template <typename Work>
long rss_growth_kib(Work work) {
  {
    std::ofstream clear("/proc/self/clear_refs");
    clear << "5";  // resets VmHWM to the current RSS
  }
  const long before = peak_kib("VmRSS:");
  work();
  return peak_kib("VmHWM:") - before;
}

const std::string kHead =
    "apiVersion: kubevirt.io/v1\nkind: VirtualMachine\nmetadata:\n  name: a\n  labels: ";

}  // namespace

TEST_CASE("yaml size: a ',' where a document starts is a syntax error, not an endless loop") {
  const auto error = check_yaml_size(",", "vm.yaml");
  REQUIRE(error);
  CHECK(error->mark.line == 1);
  CHECK(error->mark.column == 1);
  CHECK(error->message ==
        "YAML syntax error: unexpected ',' where a value should start (a ',' separates items "
        "only inside [...] or {...})");
  const auto later = check_yaml_size("a: [1]\n---\n  , b\n", "vm.yaml");
  REQUIRE(later);
  CHECK(later->mark.line == 3);
  CHECK(later->mark.column == 3);
  // What yaml-cpp's LoadAll never returned from (the fuzzer's find): parse_spec answers.
  const auto parsed = parse_spec("#,    \n ,    ", "vm.yaml");
  REQUIRE_FALSE(parsed);
  CHECK(parsed.error().front().message.starts_with("YAML syntax error: unexpected ','"));
}

TEST_CASE("yaml size: documents and values up to the bounds pass, one more fails where it is") {
  CHECK_FALSE(check_yaml_size("---\n---\n---\na: 1\n", "vm.yaml", 3, 100));
  const auto documents = check_yaml_size("---\n---\n---\n---\na: 1\n", "vm.yaml", 3, 100);
  REQUIRE(documents);
  CHECK(documents->mark.line == 4);
  CHECK(documents->message ==
        "the text holds more than 3 YAML documents; a spec file holds exactly one VM");
  const auto values = check_yaml_size("a: [1, 2]\nb: 3\n", "vm.yaml", 8, 5);
  REQUIRE(values);
  CHECK(values->mark.line == 2);
  CHECK(values->mark.column == 1);
  CHECK(values->message.starts_with("the document holds more than 5 values"));
  CHECK_FALSE(check_yaml_size("a: [1, 2]\nb: 3\n", "vm.yaml", 8, 7));  // map, a, [], 1, 2, b, 3
}

TEST_CASE("yaml size: a text that is not YAML is left to the parse to report") {
  CHECK_FALSE(check_yaml_size("a: [1\n", "vm.yaml"));
  const auto parsed = parse_spec("a: [1\n", "vm.yaml");
  REQUIRE_FALSE(parsed);
  CHECK(parsed.error().front().message.starts_with("YAML syntax error"));
}

TEST_CASE("yaml size: a 1 MiB spec of one flat list costs parse_spec a few MiB, not 250") {
  std::string text = kHead + "[0";
  while (text.size() < 1024 * 1024 - 2) {
    text += ",0";
  }
  text += "]\n";
  std::optional<std::expected<VmSpec, SpecErrors>> parsed;
  const long growth = rss_growth_kib([&] { parsed = parse_spec(text, "vm.yaml"); });
  REQUIRE(parsed);
  REQUIRE_FALSE(*parsed);
  const auto& error = parsed->error().front();
  CHECK(error.message ==
        "the document holds more than 6000 values (keys, items and scalars); a VM spec needs "
        "far fewer");
  CHECK(error.mark.line == 5);
  MESSAGE("parse_spec of a 1 MiB list: RSS grew by " << growth << " KiB");
  CHECK(growth >= 0);
  CHECK(growth < 8 * 1024);
}

TEST_CASE("yaml size: 1 MiB of '---' lines is refused at the ninth document") {
  std::string text;
  while (text.size() < 1024 * 1024) {
    text += "---\n";
  }
  const auto parsed = parse_spec(text, "vm.yaml");
  REQUIRE_FALSE(parsed);
  CHECK(parsed.error().front().mark.line == static_cast<int>(kMaxSpecDocuments) + 1);
}

TEST_CASE("yaml size: a 1 MiB spec just within the value bound costs parse_spec under 8 MiB") {
  std::string text =
      "apiVersion: kubevirt.io/v1\nkind: VirtualMachine\nmetadata:\n  name: a\n  labels:\n";
  const std::string pad(170, 'x');  // 2 values a line, 1 MiB just within the bound
  int labels = 0;
  while (text.size() < 1024 * 1024 - 300) {
    text += "    k" + std::to_string(labels++) + pad + ": " + pad + "\n";
  }
  text += "spec:\n  template:\n    spec:\n      domain:\n        memory:\n          guest: 64Mi\n"
          "        devices: {}\n";
  CHECK(labels * 2 < static_cast<int>(kMaxSpecValues));
  std::optional<std::expected<VmSpec, SpecErrors>> parsed;
  const long growth = rss_growth_kib([&] { parsed = parse_spec(text, "vm.yaml"); });
  REQUIRE(parsed);
  REQUIRE(*parsed);
  CHECK((*parsed)->labels.size() == static_cast<std::size_t>(labels));
  MESSAGE("parse_spec of a 1 MiB spec with " << labels << " labels: RSS grew by " << growth
                                            << " KiB");
  CHECK(growth < 8 * 1024);
}
