#include "qmp/key_codes.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using qmd::qmp::parse_key_combo;
using qmd::qmp::parse_key_combos;

namespace {
std::vector<std::string> keys_of(std::string_view text) {
  auto combo = parse_key_combo(text);
  REQUIRE_MESSAGE(combo.has_value(), (combo ? "" : combo.error()));
  return combo->keys;
}
}  // namespace

TEST_CASE("one key is a combo of one") {
  CHECK(keys_of("ret") == std::vector<std::string>{"ret"});
}

TEST_CASE("combinations keep their order and map aliases and case") {
  CHECK(keys_of("ctrl-alt-delete") == std::vector<std::string>{"ctrl", "alt", "delete"});
  CHECK(keys_of("Ctrl-Alt-F2") == std::vector<std::string>{"ctrl", "alt", "f2"});
  CHECK(keys_of("control-alt-del") == std::vector<std::string>{"ctrl", "alt", "delete"});
  CHECK(keys_of("enter") == std::vector<std::string>{"ret"});
  CHECK(keys_of("win-r") == std::vector<std::string>{"meta_l", "r"});
  CHECK(keys_of("shift-minus") == std::vector<std::string>{"shift", "minus"});
  CHECK(keys_of("kp_enter") == std::vector<std::string>{"kp_enter"});
}

TEST_CASE("bad combinations name what is wrong") {
  auto unknown = parse_key_combo("ctrl-alt-dleete");
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().find("\"dleete\" is not a key") != std::string::npos);
  auto empty_part = parse_key_combo("ctrl--x");
  REQUIRE_FALSE(empty_part);
  CHECK(empty_part.error().find("empty key name") != std::string::npos);
  CHECK_FALSE(parse_key_combo(""));
  CHECK_FALSE(parse_key_combo("ctrl-"));
  auto twice = parse_key_combo("ctrl-ctrl");
  REQUIRE_FALSE(twice);
  CHECK(twice.error().find("names ctrl twice") != std::string::npos);
  CHECK_FALSE(parse_key_combo("a-b-c-d-e-f-g-h-i"));  // nine keys
  CHECK(parse_key_combo("a-b-c-d-e-f-g-h"));          // eight
  CHECK_FALSE(parse_key_combo(std::string(65, 'a')));
  CHECK_FALSE(parse_key_combo("unmapped"));  // QEMU's placeholder is no key to press
  auto control = parse_key_combo(std::string("a\x01"));
  REQUIRE_FALSE(control);
  CHECK(control.error().find("a?") != std::string::npos);  // shown without the control byte
}

TEST_CASE("a list of combinations is bounded and names the bad entry") {
  const std::vector<std::string> good{"ctrl-alt-f2", "ret"};
  auto combos = parse_key_combos(good);
  REQUIRE(combos);
  CHECK(combos->size() == 2);
  const std::vector<std::string> bad{"ret", "nope"};
  auto refused = parse_key_combos(bad);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().starts_with("keys[1]: "));
  CHECK_FALSE(parse_key_combos(std::vector<std::string>{}));
  CHECK_FALSE(parse_key_combos(std::vector<std::string>(65, "a")));
  CHECK(parse_key_combos(std::vector<std::string>(64, "a")));
}
