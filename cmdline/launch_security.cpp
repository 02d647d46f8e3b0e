#include <fmt/format.h>

#include "cmdline/core_configurators.hpp"

namespace qmd::cmdline {

void LaunchSecurityConfigurator::configure(const policy::VmSpec& spec, RenderResult& out) const {
  const auto& ls = spec.domain.launch_security;
  switch (ls.kind) {
    case policy::LaunchSecurityKind::none:
      return;
    case policy::LaunchSecurityKind::sev:
      // cbitpos is the host CPU's C-bit (CPUID 0x8000001F EBX[5:0]); one physical address
      // bit is lost to it.
      out.argv.add("-object",
                   fmt::format("sev-guest,id=lsec0,cbitpos={},reduced-phys-bits=1,policy={:#x}",
                               sev_cbitpos_, ls.sev_policy.value_or(0x1)));
      return;
    case policy::LaunchSecurityKind::snp:
      out.argv.add("-object", fmt::format("sev-snp-guest,id=lsec0,cbitpos={},reduced-phys-bits=1",
                                          sev_cbitpos_));
      return;
    case policy::LaunchSecurityKind::tdx:
      out.argv.add("-object", "tdx-guest,id=lsec0");
      return;
  }
}

}  // namespace qmd::cmdline
