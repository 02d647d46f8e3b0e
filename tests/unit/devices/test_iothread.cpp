#include <doctest/doctest.h>

#include <boost/json/parse.hpp>

#include "devices/iothread.hpp"

using namespace qmd::devices;

TEST_CASE("iothread object, cold and hot") {
  CHECK(object_option(iothread("iothread-a")) == Option{"-object", "iothread,id=iothread-a"});
  CHECK(object_add(iothread("iothread-a")) ==
        QmpCall{"object-add",
                boost::json::parse(R"({"qom-type":"iothread","id":"iothread-a"})").as_object()});
}
