#include "devices/watchdog.hpp"

#include "devices/props.hpp"

namespace qmd::devices {

std::vector<Option> watchdog_options(const std::string& model, const std::string& action,
                                     const PciSlot& slot) {
  const Component device{
      model, {{"id", std::string("watchdog0")}, {"bus", slot.bus}, {"addr", slot.addr}}};
  return {device_option(device), {"-action", "watchdog=" + action}};
}

}  // namespace qmd::devices
