#pragma once
// Coldplug and hotplug must describe the same device: same driver, id, bus, address and
// every other prop. Compares the parsed `-device` value with the device_add arguments.
#include <doctest/doctest.h>

#include "devices/props.hpp"

namespace qmd::devices::testing {

inline void check_agree(const Option& option, const QmpCall& call, const std::string& type_key) {
  REQUIRE(option.value);
  CHECK(parse_keyval(*option.value) == flatten_arguments(call.arguments, type_key));
}

}  // namespace qmd::devices::testing
