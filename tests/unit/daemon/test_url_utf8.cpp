// A request target decodes to UTF-8 or not at all: what the routes put in an answer's JSON
// (a path, a VM name) is then always text a client's JSON parser takes.
#include <doctest/doctest.h>

#include <boost/json/parse.hpp>

#include "daemon/api/http_types.hpp"
#include "daemon/api/url.hpp"

using namespace qmd::daemon::api;

TEST_CASE("url: UTF-8 decodes, other bytes do not") {
  CHECK(percent_decode("caf%C3%A9") == "caf\xC3\xA9");
  CHECK(percent_decode("%F0%9F%96%A5") == "\xF0\x9F\x96\xA5");
  CHECK(percent_decode("raw\xC3\xA9") == "raw\xC3\xA9");
  CHECK_FALSE(percent_decode("%FF"));
  CHECK_FALSE(percent_decode("raw\xFF"));
  CHECK_FALSE(percent_decode("%C3"));           // cut short
  CHECK_FALSE(percent_decode("%C0%AF"));        // overlong '/'
  CHECK_FALSE(percent_decode("%ED%A0%80"));     // a surrogate
  CHECK_FALSE(percent_decode("%F4%90%80%80"));  // past U+10FFFF
  CHECK_FALSE(percent_decode("a=%E9", true));
}

TEST_CASE("url: a target with a byte that is not UTF-8 is refused, so no answer quotes it") {
  // What the fuzzer found: "PATCH /v1/vms/a%2Fb/disks/%FF%20d" made a 404 whose JSON
  // held the raw byte, which a strict JSON parser (qmctl's) refuses.
  CHECK_FALSE(parse_target("/v1/vms/a%2Fb/disks/%FF%20d"));
  CHECK_FALSE(parse_target("/v1/events?vm=%FF"));
  const auto fine = parse_target("/v1/vms/caf%C3%A9");
  REQUIRE(fine);
  const auto answer = error_response(404, "NotFound", "no such resource: " + fine->path);
  boost::system::error_code ec;
  (void)boost::json::parse(answer.body, ec);
  CHECK_FALSE(ec);
}
