#include "devices/agent.hpp"

#include "devices/controllers.hpp"
#include "devices/props.hpp"

namespace qmd::devices {

std::vector<Option> agent_channel_options(const std::string& socket) {
  const Component chardev{
      "socket",
      {{"id", std::string("charchannel0")}, {"path", socket}, {"server", true}, {"wait", false}}};
  const Component port{"virtserialport",
                       {{"id", std::string("channel0")},
                        {"bus", virtio_serial_bus},
                        {"nr", std::int64_t{1}},
                        {"chardev", std::string("charchannel0")},
                        {"name", std::string("org.qemu.guest_agent.0")}}};
  return {{"-chardev", keyval(chardev)}, device_option(port)};
}

}  // namespace qmd::devices
