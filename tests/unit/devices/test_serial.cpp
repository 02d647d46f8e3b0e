#include <doctest/doctest.h>

#include "devices/serial.hpp"

using namespace qmd::devices;

TEST_CASE("serial console on a listening socket") {
  CHECK(serial_console_options("/run/vm/console.sock") ==
        std::vector<Option>{
            {"-chardev", "socket,id=charserial0,path=/run/vm/console.sock,server=on,wait=off"},
            {"-device", "isa-serial,id=serial0,chardev=charserial0"}});
}

TEST_CASE("a comma in the socket path is escaped") {
  CHECK(serial_console_options("/run/a,b/c.sock")[0].value ==
        "socket,id=charserial0,path=/run/a,,b/c.sock,server=on,wait=off");
}
