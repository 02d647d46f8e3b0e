#include <doctest/doctest.h>

#include "devices/agent.hpp"

using namespace qmd::devices;

TEST_CASE("guest agent channel") {
  CHECK(agent_channel_options("/run/vm/qga.sock") ==
        std::vector<Option>{
            {"-chardev", "socket,id=charchannel0,path=/run/vm/qga.sock,server=on,wait=off"},
            {"-device",
             "virtserialport,id=channel0,bus=virtio-serial0.0,nr=1,"
             "chardev=charchannel0,name=org.qemu.guest_agent.0"}});
}
