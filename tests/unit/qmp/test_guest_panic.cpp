#include "qmp/guest_panic.hpp"

#include <doctest/doctest.h>

#include <boost/json/parse.hpp>

using qmd::qmp::describe_crash;
using qmd::qmp::parse_guest_panicked;

namespace {
qmd::qmp::GuestPanic parse(const char* text) {
  return parse_guest_panicked(boost::json::parse(text).as_object());
}
}  // namespace

TEST_CASE("a panic without crash parameters describes nothing") {
  const auto panic = parse(R"({"action":"pause"})");
  CHECK(panic.action == "pause");
  CHECK_FALSE(panic.hyperv);
  CHECK(describe_crash(panic).empty());
  CHECK(parse("{}").action.empty());
}

TEST_CASE("a Hyper-V crash carries the bugcheck code and its parameters") {
  // DRIVER_IRQL_NOT_LESS_OR_EQUAL, as QEMU 7.2 reports hv-crash's MSRs.
  const auto panic = parse(R"({"action":"pause","info":{"type":"hyper-v","arg1":209,
      "arg2":0,"arg3":2,"arg4":1,"arg5":18446735277616529408}})");
  REQUIRE(panic.hyperv);
  CHECK((*panic.hyperv)[0] == 0xD1);
  CHECK(describe_crash(panic) ==
        "Hyper-V bugcheck 0x000000D1 (0x0000000000000000, 0x0000000000000002, "
        "0x0000000000000001, 0xFFFFF80000000000)");
}

TEST_CASE("odd data from the guest side gives no record, never a wrong one") {
  CHECK_FALSE(parse(R"({"info":{"type":"hyper-v","arg1":1}})").hyperv);
  CHECK_FALSE(parse(R"({"info":{"type":"hyper-v","arg1":"x","arg2":0,"arg3":0,"arg4":0,
      "arg5":0}})").hyperv);
  CHECK_FALSE(parse(R"({"info":{"type":"s390","core":0}})").hyperv);
  CHECK_FALSE(parse(R"({"info":"hyper-v"})").hyperv);
  CHECK(parse(R"({"action":"explode"})").action.empty());
}
