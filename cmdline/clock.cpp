#include <cstdlib>

#include <fmt/format.h>

#include "cmdline/core_configurators.hpp"

namespace qmd::cmdline {

std::string tz_for_offset(std::int64_t offset_seconds) {
  // POSIX TZ offsets are what to add to local time to reach UTC: the opposite sign.
  const char sign = offset_seconds > 0 ? '-' : '+';
  const std::int64_t a = std::llabs(offset_seconds);
  return fmt::format("QMD{}{:02}:{:02}:{:02}", sign, a / 3600, a / 60 % 60, a % 60);
}

void ClockConfigurator::configure(const policy::VmSpec& spec, RenderResult& out) const {
  const auto& clock = spec.domain.clock;
  // The RTC's base follows the QEMU process's TZ when it is `localtime`; that keeps render
  // pure (no "now" baked into the argv) and the offset right across restarts.
  std::string rtc = "base=utc";
  if (clock.timezone) {
    rtc = "base=localtime";
    out.env.push_back("TZ=" + *clock.timezone);
  } else if (clock.utc_offset_seconds.value_or(0) != 0) {
    rtc = "base=localtime";
    out.env.push_back("TZ=" + tz_for_offset(*clock.utc_offset_seconds));
  }
  if (clock.rtc) {
    if (clock.rtc->track) {
      rtc += *clock.rtc->track == "guest" ? ",clock=vm" : ",clock=host";
    }
    if (clock.rtc->tick_policy == "catchup") {
      // Windows counts RTC interrupts for its clock: re-inject the lost ones.
      rtc += ",driftfix=slew";
    }
  }
  out.argv.add("-rtc", rtc);
  if (kvm_ && clock.pit && clock.pit->tick_policy) {
    out.argv.add("-global", "kvm-pit.lost_tick_policy=" + *clock.pit->tick_policy);
  }
}

}  // namespace qmd::cmdline
