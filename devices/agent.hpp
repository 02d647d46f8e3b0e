#pragma once
// The guest agent channel: a virtserialport named org.qemu.guest_agent.0 on the
// virtio-serial bus, backed by a listening Unix socket the daemon's QGA client connects to.
#include <string>
#include <vector>

#include "devices/fragment.hpp"

namespace qmd::devices {

std::vector<Option> agent_channel_options(const std::string& socket);

}  // namespace qmd::devices
