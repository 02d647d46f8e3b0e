#include "cmdline/panic.hpp"

namespace qmd::cmdline {

void PanicDeviceConfigurator::configure(const policy::VmSpec&, RenderResult& out) const {
  if (pvpanic_) {
    out.argv.add("-device", "pvpanic,id=pvpanic0");
  }
}

}  // namespace qmd::cmdline
