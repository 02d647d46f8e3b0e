#pragma once
// The serial console: COM1 on a listening Unix socket that `qmctl console` attaches to.
#include <string>
#include <vector>

#include "devices/fragment.hpp"

namespace qmd::devices {

std::vector<Option> serial_console_options(const std::string& socket);

}  // namespace qmd::devices
