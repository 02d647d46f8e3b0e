#include "devices/serial.hpp"

#include "devices/props.hpp"

namespace qmd::devices {

std::vector<Option> serial_console_options(const std::string& socket) {
  const Component chardev{
      "socket",
      {{"id", std::string("charserial0")}, {"path", socket}, {"server", true}, {"wait", false}}};
  const Component device{"isa-serial",
                         {{"id", std::string("serial0")}, {"chardev", std::string("charserial0")}}};
  return {{"-chardev", keyval(chardev)}, device_option(device)};
}

}  // namespace qmd::devices
