// Clock offset and timers: QEMU accepts only some tick policies per timer.
#include <fmt/format.h>

#include "policy/validate_rules.hpp"

namespace qmd::policy::rules {

void validate_clock(const VmSpec& spec, SpecErrors& errors) {
  const auto& clock = spec.domain.clock;
  if (clock.utc_set && clock.timezone) {
    errors.push_back(spec.source.error_at("domain.clock.timezone",
                                          "cannot be combined with clock.utc; keep one of them"));
  }
  const std::string base = "domain.clock.timer.";
  if (clock.pit) {
    check_one_of(spec, base + "pit.tickPolicy", clock.pit->tick_policy,
                 {"delay", "catchup", "discard"}, errors);
  }
  if (clock.rtc) {
    check_one_of(spec, base + "rtc.tickPolicy", clock.rtc->tick_policy, {"delay", "catchup"},
                 errors);
    check_one_of(spec, base + "rtc.track", clock.rtc->track, {"guest", "wall"}, errors);
  }
  if (clock.hpet) {
    check_one_of(spec, base + "hpet.tickPolicy", clock.hpet->tick_policy,
                 {"delay", "catchup", "merge", "discard"}, errors);
  }
  for (auto [name, timer] : {std::pair{"hyperv", &clock.hyperv}, std::pair{"kvm", &clock.kvm}}) {
    if (*timer && (*timer)->tick_policy) {
      errors.push_back(spec.source.error_at(
          fmt::format("{}{}.tickPolicy", base, name),
          fmt::format("the {} timer has no tick policy; remove tickPolicy", name)));
    }
  }
}

}  // namespace qmd::policy::rules
