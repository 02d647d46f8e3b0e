// The pvpanic device: absent when the guest reports panics through hv-crash; the whole
// fragment otherwise. hv-crash itself is on -cpu (CpuConfigurator).
#include <doctest/doctest.h>

#include "cmdline/core_configurators.hpp"
#include "cmdline/panic.hpp"

using namespace qmd;

namespace {

std::vector<std::string> lines_of(const cmdline::Configurator& c, const policy::VmSpec& spec) {
  cmdline::RenderResult out;
  c.configure(spec, out);
  return out.argv.lines();
}

}  // namespace

TEST_CASE("panic device: none for an hv-crash guest") {
  CHECK(lines_of(cmdline::PanicDeviceConfigurator(false), policy::VmSpec{}).empty());
}

TEST_CASE("panic device: the ISA pvpanic otherwise") {
  CHECK(lines_of(cmdline::PanicDeviceConfigurator(true), policy::VmSpec{}) ==
        std::vector<std::string>{"-device pvpanic,id=pvpanic0"});
}

TEST_CASE("panic device: hv-crash follows the Hyper-V flags on -cpu") {
  policy::VmSpec spec;
  spec.domain.features.hyperv = policy::HypervFeatures{};
  spec.domain.features.hyperv->relaxed = policy::Toggle{};
  CHECK(lines_of(cmdline::CpuConfigurator(true, {}, 0, {}, true), spec) ==
        std::vector<std::string>{"-cpu host,hv-relaxed,hv-crash"});
  CHECK(lines_of(cmdline::CpuConfigurator(true, {}, 0, {}, false), spec) ==
        std::vector<std::string>{"-cpu host,hv-relaxed"});
}
