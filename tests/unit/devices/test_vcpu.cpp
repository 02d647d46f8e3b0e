#include <doctest/doctest.h>

#include <boost/json/parse.hpp>

#include "devices/vcpu.hpp"

using namespace qmd::devices;

TEST_CASE("vcpu ids name their position") {
  CHECK(vcpu_id({0, 0, 0}) == "vcpu-0-0-0");
  CHECK(vcpu_id({1, 2, 3}) == "vcpu-1-2-3");
}

TEST_CASE("vcpu_add takes the driver and props query-hotpluggable-cpus reports") {
  const auto props = boost::json::parse(R"({"socket-id":2,"core-id":0,"thread-id":0})");
  CHECK(vcpu_add("qemu64-x86_64-cpu", props.as_object()) ==
        QmpCall{"device_add", boost::json::parse(R"({"driver":"qemu64-x86_64-cpu","id":"vcpu-2-0-0",
                                       "socket-id":2,"core-id":0,"thread-id":0})")
                                  .as_object()});
  CHECK(vcpu_add("host-x86_64-cpu", CpuSlot{1, 0, 0}).arguments.at("id") == "vcpu-1-0-0");
  CHECK(vcpu_del({1, 0, 0}) ==
        QmpCall{"device_del", boost::json::parse(R"({"id":"vcpu-1-0-0"})").as_object()});
}
