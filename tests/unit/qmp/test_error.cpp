#include <doctest/doctest.h>

#include "qmp/error.hpp"

using namespace qmd::qmp;

TEST_CASE("an error with no class says only its kind and description") {
  CHECK(QmpError{QmpError::Kind::closed, "", "QEMU closed the QMP connection"}.to_string() ==
        "QMP closed error: QEMU closed the QMP connection");
}

TEST_CASE("each kind has a name and a command error names QEMU's class") {
  CHECK(QmpError{QmpError::Kind::command, "CommandNotFound", "The command nope has not been found"}
            .to_string() == "QMP error CommandNotFound: The command nope has not been found");
  CHECK(QmpError{QmpError::Kind::timeout, "", "stop got no reply within 5 ms"}.to_string() ==
        "QMP timeout error: stop got no reply within 5 ms");
  CHECK(std::string(kind_name(QmpError::Kind::transport)) == "transport");
  CHECK(std::string(kind_name(QmpError::Kind::protocol)) == "protocol");
}
