#include "qmp/guest_text.hpp"

#include <doctest/doctest.h>

#include <boost/json/parse.hpp>
#include <string>

using namespace qmd::qmp;
namespace json = boost::json;

TEST_CASE("plain printable text passes unchanged") {
  CHECK(sanitize_guest_text("") == "");
  CHECK(sanitize_guest_text("qemu-ga 7.2.0 (Debian)") == "qemu-ga 7.2.0 (Debian)");
  CHECK(sanitize_guest_text("Windows 10 Pro – Büro 日本語 🙂") == "Windows 10 Pro – Büro 日本語 🙂");
}

TEST_CASE("control characters become '?'") {
  CHECK(sanitize_guest_text("a\nb\rc\td\x1b[2Je\x7f") == "a?b?c?d?[2Je?");
  CHECK(sanitize_guest_text(std::string("nul\0byte", 8)) == "nul?byte");
  CHECK(sanitize_guest_text("c1\u0085\u009b") == "c1??");          // NEL, CSI
  CHECK(sanitize_guest_text("ls\u2028sep\u2029") == "ls?sep?");     // line/paragraph sep
  CHECK(sanitize_guest_text("abc\u202edcba\u2066x\u2069") == "abc?dcba?x?");  // bidi
}

TEST_CASE("bytes that are not well-formed UTF-8 become '?', one per byte") {
  CHECK(sanitize_guest_text("a\xff" "b") == "a?b");
  CHECK(sanitize_guest_text("\x80\xbf") == "??");                  // stray continuations
  CHECK(sanitize_guest_text("\xc3") == "?");                       // cut at the end
  CHECK(sanitize_guest_text("\xc3(") == "?(");                     // cut in the middle
  CHECK(sanitize_guest_text("\xc0\xaf") == "??");                  // overlong '/'
  CHECK(sanitize_guest_text("\xe0\x80\xaf") == "???");             // overlong, 3 bytes
  CHECK(sanitize_guest_text("\xed\xa0\x80") == "???");             // a UTF-16 surrogate
  CHECK(sanitize_guest_text("\xf4\x90\x80\x80") == "????");        // past U+10FFFF
  CHECK(sanitize_guest_text("\xf0\x9f\x99\x82") == "\xf0\x9f\x99\x82");  // U+1F642 stays
}

TEST_CASE("over-long text keeps max - 1 characters and ends in an ellipsis") {
  CHECK(sanitize_guest_text("abcdef", 6) == "abcdef");
  CHECK(sanitize_guest_text("abcdefg", 6) == "abcde\u2026");
  CHECK(sanitize_guest_text("ééééééé", 3) == "éé\u2026");  // characters, not bytes
  CHECK(sanitize_guest_text("abc", 0) == "");
  const std::string huge(8 * 1024 * 1024, 'v');
  const std::string cut = sanitize_guest_text(huge, agent_version_max_chars);
  CHECK(cut == std::string(63, 'v') + "\u2026");
}

TEST_CASE("a JSON excerpt is the start of the serialised value, sanitised") {
  CHECK(json_excerpt(json::parse(R"({"a":1})")) == R"({"a":1})");
  const json::value big = json::parse("[\"" + std::string(1000, 'x') + "\"]");
  CHECK(json_excerpt(big, 10) == "[\"xxxxxxxx...");
  const json::object escaped = json::parse(R"({"k":"\u001b"})").as_object();
  CHECK(json_excerpt(escaped) == R"({"k":"\u001b"})");  // JSON escapes it already
  CHECK(json_excerpt(json::parse("\"é\""), 2) == "\"?...");  // a character cut in half
}
