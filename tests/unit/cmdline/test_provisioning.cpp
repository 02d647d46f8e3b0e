// Ignition through fw_cfg and the firmware debug log: nothing without them, the whole
// fragment with them.
#include <doctest/doctest.h>

#include "cmdline/provisioning.hpp"

using namespace qmd;

namespace {

const cmdline::VmPaths kPaths{"/run/qmd/vms/core", "/var/lib/qmd/vms/core"};

std::vector<std::string> lines_of(const cmdline::Configurator& c, const policy::VmSpec& spec) {
  cmdline::RenderResult out;
  c.configure(spec, out);
  return out.argv.lines();
}

}  // namespace

TEST_CASE("ignition: no annotation adds nothing") {
  policy::VmSpec spec;
  spec.annotations["kubevirt.io/other"] = "x";
  CHECK(lines_of(cmdline::IgnitionConfigurator(kPaths), spec).empty());
}

TEST_CASE("ignition: the annotation becomes fw_cfg opt/com.coreos/config from the run dir") {
  policy::VmSpec spec;
  spec.annotations["kubevirt.io/ignitiondata"] = R"({"ignition":{"version":"3.3.0"}})";
  CHECK(lines_of(cmdline::IgnitionConfigurator(kPaths), spec) ==
        std::vector<std::string>{
            "-fw_cfg name=opt/com.coreos/config,file=/run/qmd/vms/core/ignition.json"});
  CHECK(cmdline::ignition_config_path(kPaths) == "/run/qmd/vms/core/ignition.json");
}

TEST_CASE("firmware log: off adds nothing; on is isa-debugcon at 0x402 to a file") {
  policy::VmSpec spec;
  CHECK(lines_of(cmdline::FirmwareLogConfigurator(kPaths, false), spec).empty());
  CHECK(lines_of(cmdline::FirmwareLogConfigurator(kPaths, true), spec) ==
        std::vector<std::string>{
            "-chardev file,id=firmwarelog,path=/run/qmd/vms/core/firmware.log",
            "-device isa-debugcon,iobase=0x402,chardev=firmwarelog"});
}
