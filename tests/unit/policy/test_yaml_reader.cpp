#include <doctest/doctest.h>

#include <string>

#include "policy/yaml_reader.hpp"

using namespace qmd::policy;
using qmd::policy::yaml::MapReader;

namespace {

// Reads `text` with `fn` and returns the errors, one per line.
template <class Fn>
std::string read_errors(const std::string& text, SourceMap& source, Fn fn) {
  SpecErrors errors;
  yaml::Document doc(source, errors);
  {
    MapReader top(doc, YAML::Load(text), "", {1, 1});
    fn(top);
  }
  return to_string(errors);
}

template <class Fn>
std::string read_errors(const std::string& text, Fn fn) {
  SourceMap source;
  source.set_file("t.yaml");
  return read_errors(text, source, fn);
}

}  // namespace

TEST_CASE("a mapping whose keys are all read reports nothing") {
  std::optional<std::string> a;
  CHECK(read_errors("a: x\n", [&](MapReader& r) { r.read("a", a); }).empty());
  CHECK(a == "x");
  CHECK(read_errors("{}", [](MapReader&) {}).empty());
}

TEST_CASE("keys nobody asked for are reported when the reader ends") {
  CHECK(read_errors("name: a\nnmae: b\n", [](MapReader& r) { r.has("name"); }) ==
        "nmae: unknown field \"nmae\" (did you mean \"name\"?) (t.yaml:2:1)\n");
  CHECK(read_errors("zzz: 1\n", [](MapReader&) {}) == "zzz: unknown field \"zzz\" (t.yaml:1:1)\n");
}

TEST_CASE("positions are recorded for keys and list items, 1-based") {
  SourceMap source;
  const auto errors = read_errors("outer:\n  list:\n  - {x: 1}\n  -   x: 2\n", source,
                                  [](MapReader& r) {
    r.read_map("outer", [](MapReader& outer) {
      outer.read_list("list", [](MapReader& item, std::size_t) {
        std::optional<int> x;
        item.read("x", x);
      });
    });
  });
  CHECK(errors.empty());
  CHECK(source.find("outer").line == 1);
  CHECK(source.find("outer.list").line == 2);
  CHECK(source.find("outer.list").column == 3);
  CHECK(source.find("outer.list[0]").column == 5);
  CHECK(source.find("outer.list[0].x").column == 6);
  CHECK(source.find("outer.list[1]").line == 4);
  CHECK(source.find("outer.list[1]").column == 7);
}

TEST_CASE("integers: decimal and hex, within the target type") {
  std::optional<std::uint32_t> u;
  std::optional<std::int64_t> i;
  CHECK(read_errors("u: 0x1f\ni: -9223372036854775808\n", [&](MapReader& r) {
          r.read("u", u);
          r.read("i", i);
        }).empty());
  CHECK(u == 31u);
  CHECK(i == INT64_MIN);
  CHECK(read_errors("u: 99999999999999999999\n", [&](MapReader& r) { r.read("u", u); }) ==
        "u: expected an integer from 0 to 4294967295, got 99999999999999999999 (t.yaml:1:4)\n");
  CHECK(read_errors("u: +1\n", [&](MapReader& r) { r.read("u", u); }) ==
        "u: expected an integer, got \"+1\" (t.yaml:1:4)\n");
}

TEST_CASE("null reads as an empty mapping or list; markers must be empty") {
  bool ran = false;
  CHECK(read_errors("m:\nl: ~\n", [&](MapReader& r) {
          CHECK(r.read_map("m", [&](MapReader&) { ran = true; }));
          r.read_list("l", [](MapReader&, std::size_t) { FAIL("no items"); });
        }).empty());
  CHECK(ran);
  CHECK(read_errors("pod: {x: 1}\n", [](MapReader& r) { r.read_marker("pod"); }) ==
        "pod.x: unknown field \"x\" (t.yaml:1:7)\n");
}

TEST_CASE("string maps take scalar values only") {
  std::map<std::string, std::string> labels;
  CHECK(read_errors("labels: {a: b, c: 1, d: [x]}\n",
                    [&](MapReader& r) { r.read_string_map("labels", labels); }) ==
        "labels.d: expected a string, got a list (t.yaml:1:25)\n");
  CHECK(labels == std::map<std::string, std::string>{{"a", "b"}, {"c", "1"}});
}

TEST_CASE("nearest suggests within two edits only") {
  const std::vector<std::string> keys{"cores", "sockets", "threads"};
  CHECK(yaml::nearest("coers", keys) == "cores");
  CHECK(yaml::nearest("socket", keys) == "sockets");
  CHECK(yaml::nearest("memory", keys) == std::nullopt);
}
