#include <doctest/doctest.h>

#include "policy/host_units.hpp"

using namespace qmd::policy;

TEST_CASE("nothing is not a quantity") {
  CHECK_FALSE(parse_binary_quantity("").has_value());
  CHECK_FALSE(parse_binary_quantity("Gi").has_value());
  CHECK_FALSE(parse_binary_quantity("12G").has_value());
  CHECK_FALSE(parse_binary_quantity("-1Gi").has_value());
  CHECK_FALSE(parse_binary_quantity("99999999999Ti").has_value());
}

TEST_CASE("binary quantities both ways") {
  CHECK(*parse_binary_quantity("64Gi") == 64ULL << 30);
  CHECK(*parse_binary_quantity("2Mi") == 2ULL << 20);
  CHECK(*parse_binary_quantity("512Ki") == 512ULL << 10);
  CHECK(*parse_binary_quantity("1Ti") == 1ULL << 40);
  CHECK(*parse_binary_quantity("1000") == 1000);
  CHECK(format_binary_quantity(32ULL << 30) == "32Gi");
  CHECK(format_binary_quantity(2ULL << 20) == "2Mi");
  CHECK(format_binary_quantity(24684084ULL << 10) == "24684084Ki");
  CHECK(format_binary_quantity(1000) == "1000");
  CHECK(format_binary_quantity(0) == "0");
}
