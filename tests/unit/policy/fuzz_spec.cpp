// libFuzzer target: a spec document as a group member may send it (YAML, or JSON, which the
// YAML reader takes too), through what the API does with it: policy::check_nesting (nesting
// and aliases, on the text) and then policy::parse_spec (check_yaml_size on the parser's
// events, then yaml-cpp's nodes and the strict reader). Checks: no crash, no sanitizer report,
// bounded memory (fuzz.sh's -rss_limit_mb/-malloc_limit_mb), and every failure is reported as
// errors with a message (never an empty error list).
//
//   scripts/fuzz.sh 60 fuzz_spec
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "policy/parse.hpp"
#include "policy/spec_limits.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  if (qmd::policy::check_nesting(text, "fuzz.yaml")) {
    return 0;  // refused before the parser, as the API refuses it
  }
  const auto parsed = qmd::policy::parse_spec(text, "fuzz.yaml");
  if (!parsed) {
    if (parsed.error().empty()) {
      std::fprintf(stderr, "parse_spec failed with no error\n");
      std::abort();
    }
    for (const auto& error : parsed.error()) {
      if (error.message.empty()) {
        std::fprintf(stderr, "parse_spec gave an error without a message (path %s)\n",
                     error.path.c_str());
        std::abort();
      }
    }
  }
  return 0;
}
