#include <doctest/doctest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <string>

#include "qmp/framing.hpp"

using namespace qmd::qmp;
namespace json = boost::json;

namespace {

json::object obj(std::string_view text) { return json::parse(text).as_object(); }

std::vector<json::object> feed_ok(JsonStreamDecoder& d, std::string_view bytes) {
  std::vector<json::object> out;
  const auto error = d.feed(bytes, out);
  REQUIRE_FALSE(error.has_value());
  return out;
}

// The error `bytes` end in, after the objects before it.
QmpError feed_bad(JsonStreamDecoder& d, std::string_view bytes,
                  std::vector<json::object> before = {}) {
  std::vector<json::object> out;
  const auto error = d.feed(bytes, out);
  CHECK(out == before);
  REQUIRE(error.has_value());
  return *error;
}

}  // namespace

TEST_CASE("no bytes and bare line ends give no messages") {
  JsonStreamDecoder d;
  CHECK(feed_ok(d, "").empty());
  CHECK(feed_ok(d, "\r\n\n  \t").empty());
  CHECK(d.buffered() == 0);
}

TEST_CASE("one line gives one object") {
  JsonStreamDecoder d;
  CHECK(feed_ok(d, "{\"return\": {}, \"id\": 1}\r\n") ==
        std::vector<json::object>{obj(R"({"return": {}, "id": 1})")});
}

TEST_CASE("a message split at every position comes out whole, once") {
  const std::string line = R"({"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7},)"
                           R"( "package": "Debian 1:7.2"}, "capabilities": ["oob"]}})"
                           "\r\n";
  for (std::size_t cut = 1; cut < line.size(); ++cut) {
    JsonStreamDecoder d;
    auto first = feed_ok(d, std::string_view(line).substr(0, cut));
    auto second = feed_ok(d, std::string_view(line).substr(cut));
    first.insert(first.end(), second.begin(), second.end());
    REQUIRE(first == std::vector<json::object>{obj(line)});
  }
}

TEST_CASE("several messages in one read come out in order") {
  JsonStreamDecoder d;
  const auto out = feed_ok(d, "{\"a\":1}\r\n{\"b\":2}\r\n{\"c\"");
  CHECK(out == std::vector<json::object>{obj(R"({"a":1})"), obj(R"({"b":2})")});
  CHECK(d.buffered() == 4);
  CHECK(feed_ok(d, ":3}\r\n") == std::vector<json::object>{obj(R"({"c":3})")});
  // Without line ends (a peer that does not frame by line) objects still separate.
  CHECK(feed_ok(d, "{\"d\":4}{\"e\":5}") ==
        std::vector<json::object>{obj(R"({"d":4})"), obj(R"({"e":5})")});
}

TEST_CASE("a large message in small reads") {
  json::array items;
  for (int i = 0; i < 5000; ++i) {
    items.push_back(json::object{{"name", "type-" + std::to_string(i)}, {"meta-type", "object"}});
  }
  const json::object message{{"return", items}, {"id", 7}};
  const std::string text = json::serialize(message) + "\r\n";
  REQUIRE(text.size() > 200 * 1024);
  JsonStreamDecoder d;
  std::vector<json::object> got;
  for (std::size_t at = 0; at < text.size(); at += 4096) {
    auto part = feed_ok(d, std::string_view(text).substr(at, 4096));
    got.insert(got.end(), part.begin(), part.end());
  }
  CHECK(got == std::vector<json::object>{message});
}

TEST_CASE("a message over the limit is an oversize error, one at the limit is not") {
  const std::string exact = R"({"a":"xxxxxxxx"})";  // 16 bytes
  JsonStreamDecoder fits(exact.size());
  CHECK(feed_ok(fits, exact + "\r\n" + exact + "\r\n").size() == 2);

  JsonStreamDecoder d(exact.size() - 1);
  CHECK(feed_ok(d, exact.substr(0, 8)).empty());
  CHECK(
      feed_bad(d, exact.substr(8)) ==
      QmpError{QmpError::Kind::oversize, "", "a message from the peer exceeds the 15 byte limit"});
}

TEST_CASE("an endless message fails without buffering it all") {
  JsonStreamDecoder d(1024);
  CHECK(feed_ok(d, "{\"a\":\"" + std::string(600, 'x')).empty());
  CHECK(d.buffered() == 606);
  CHECK(feed_bad(d, std::string(600, 'x')).desc ==
        "a message from the peer exceeds the 1024 byte limit");
}

TEST_CASE("garbage is a protocol error and the decoder stays failed") {
  JsonStreamDecoder d;
  const auto error =
      feed_bad(d, "{\"return\": {}}\r\nHTTP/1.1 400 Bad Request\r\n", {obj(R"({"return": {}})")});
  CHECK(error.kind == QmpError::Kind::protocol);
  CHECK(error.desc.starts_with("malformed JSON from the peer: "));
  CHECK(feed_bad(d, "{\"return\": {}}\r\n").desc == "the QMP stream already failed to decode");
}

TEST_CASE("truncated then broken JSON is a protocol error") {
  JsonStreamDecoder d;
  CHECK(feed_ok(d, "{\"return\": {\"status\": ").empty());
  CHECK(feed_bad(d, "}\r\n").kind == QmpError::Kind::protocol);
}

TEST_CASE("a value that is not an object is a protocol error") {
  for (const char* text : {"[1,2]\r\n", "\"hello\"\r\n", "true\r\n", "null\r\n"}) {
    JsonStreamDecoder d;
    CHECK(feed_bad(d, text).desc.starts_with("expected a JSON object from the peer, got "));
  }
}
