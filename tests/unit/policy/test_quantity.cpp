#include <doctest/doctest.h>

#include <cstdint>
#include <string>

#include "policy/parse.hpp"

using namespace qmd::policy;

TEST_CASE("a plain byte count is taken as it is") {
  CHECK(parse_bytes("0").value() == 0);
  CHECK(parse_bytes("1073741824").value() == 1073741824ULL);
}

TEST_CASE("byte quantities with binary and decimal suffixes") {
  struct Row {
    std::string text;
    std::uint64_t bytes;
  };
  const Row rows[] = {
      {"1Ki", 1024ULL},
      {"512Mi", 512ULL << 20},
      {"8Gi", 8ULL << 30},
      {"2Ti", 2ULL << 40},
      {"1Pi", 1ULL << 50},
      {"15Ei", 15ULL << 60},
      {"1k", 1000ULL},
      {"1M", 1000'000ULL},
      {"1G", 1000'000'000ULL},
      {"3T", 3000'000'000'000ULL},
      {"1P", 1000'000'000'000'000ULL},
      {"18E", 18000'000'000'000'000'000ULL},
      {"1.5Gi", 3ULL << 29},
      {"0.5Ki", 512ULL},
      {"2.50M", 2500'000ULL},
      {"007Mi", 7ULL << 20},
      {"18446744073709551615", UINT64_MAX},
  };
  for (const auto& row : rows) {
    CAPTURE(row.text);
    CHECK(parse_bytes(row.text) == row.bytes);
  }
}

TEST_CASE("malformed byte quantities say the accepted form") {
  const std::string form =
      "use a whole number of bytes or a number with a suffix Ki, Mi, Gi, Ti, Pi, Ei (powers of "
      "1024) or k, M, G, T, P, E (powers of 1000), such as 8Gi, 512Mi or 1.5G";
  for (const std::string text : {"", "8GB", "8 Gi", "-1Gi", "Gi", "1.Gi", ".5Gi", "1e3", "0x10",
                                 "1,5Gi", "1.2.3"}) {
    CAPTURE(text);
    CHECK(parse_bytes(text).error() ==
          "\"" + text + "\" is not a byte quantity: " + form);
  }
  CHECK(parse_bytes("1.5").error() == "\"1.5\" is not a whole number of bytes; " + form);
  CHECK(parse_bytes("0.1Ki").error() == "\"0.1Ki\" is not a whole number of bytes; " + form);
}

TEST_CASE("byte quantities that overflow 64 bits are refused") {
  const std::string max = "18446744073709551615";
  CHECK(parse_bytes("16Ei").error() == "\"16Ei\" is too large: at most " + max + " bytes");
  CHECK(parse_bytes("18446744073709551616").error() ==
        "\"18446744073709551616\" is too large: at most " + max + " bytes");
  CHECK(parse_bytes("999999999999999999999999Ki").error() ==
        "\"999999999999999999999999Ki\" is too large: at most " + max + " bytes");
  CHECK(parse_bytes("1.0000000000000000000000001Ki").error() ==
        "\"1.0000000000000000000000001Ki\" has too many decimal places to be a whole number of "
        "bytes");
  CHECK(parse_bytes("1.000000000000000000000000Ki") == 1024ULL);  // trailing zeros are free
}

TEST_CASE("cpu quantities: whole CPUs, fractions and millicpus") {
  CHECK(parse_cpu_quantity("2") == 2.0);
  CHECK(parse_cpu_quantity("0.5") == 0.5);
  CHECK(parse_cpu_quantity("1.25") == 1.25);
  CHECK(parse_cpu_quantity("500m") == 0.5);
  CHECK(parse_cpu_quantity("1500m") == 1.5);
  CHECK(parse_cpu_quantity("0") == 0.0);
}

TEST_CASE("malformed cpu quantities say the accepted form") {
  for (const std::string text : {"", "two", "-1", "500 m", "2Gi", "m", "1.", "0.5mm"}) {
    CAPTURE(text);
    CHECK(parse_cpu_quantity(text).error() ==
          "\"" + text + "\" is not a CPU quantity: use a number of CPUs such as 2 or 1.5, or "
                        "millicpus such as 500m");
  }
}
