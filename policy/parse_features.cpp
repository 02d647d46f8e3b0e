// domain.clock and domain.features (ACPI/APIC/SMM, KVM, Hyper-V enlightenments).
#include <array>
#include <utility>

#include "policy/parse_parts.hpp"

namespace qmd::policy::parse_parts {

namespace {

using yaml::MapReader;

// KubeVirt names the switch `present`; `enabled` is accepted as the same thing.
void read_timer(MapReader& parent, std::string_view key, std::optional<Timer>& out,
                bool has_tick_policy, bool has_track) {
  parent.read_map(key, [&](MapReader& timer) {
    Timer t;
    switch (timer.one_of({"present", "enabled"}, false).value_or(2)) {
      case 0:
        timer.read("present", t.present);
        break;
      case 1:
        timer.read("enabled", t.present);
        break;
      default:
        break;
    }
    if (has_tick_policy) {
      timer.read("tickPolicy", t.tick_policy);
    }
    if (has_track) {
      timer.read("track", t.track);
    }
    out = std::move(t);
  });
}

void read_timers(MapReader& timer, ClockSpec& out) {
  read_timer(timer, "hpet", out.hpet, true, false);
  read_timer(timer, "pit", out.pit, true, false);
  read_timer(timer, "rtc", out.rtc, true, true);
  read_timer(timer, "hyperv", out.hyperv, false, false);
  read_timer(timer, "kvm", out.kvm, false, false);
}

// `{enabled: bool}` plus a nested toggle that keeps whether it was written.
void read_sub_toggle(MapReader& parent, std::string_view key, bool& set, Toggle& out) {
  set = parent.read_map(key, [&](MapReader& r) { r.read("enabled", out.enabled); });
}

using HypervToggle = std::optional<Toggle> HypervFeatures::*;
constexpr std::array<std::pair<std::string_view, HypervToggle>, 10> kHypervToggles{{
    {"relaxed", &HypervFeatures::relaxed},
    {"vapic", &HypervFeatures::vapic},
    {"vpindex", &HypervFeatures::vpindex},
    {"runtime", &HypervFeatures::runtime},
    {"synic", &HypervFeatures::synic},
    {"reset", &HypervFeatures::reset},
    {"frequencies", &HypervFeatures::frequencies},
    {"reenlightenment", &HypervFeatures::reenlightenment},
    {"ipi", &HypervFeatures::ipi},
    {"evmcs", &HypervFeatures::evmcs},
}};

void read_hyperv(MapReader& hyperv, HypervFeatures& out) {
  for (const auto& [key, member] : kHypervToggles) {
    read_toggle(hyperv, key, out.*member);
  }
  hyperv.read_map("spinlocks", [&](MapReader& r) {
    auto& spinlocks = out.spinlocks.emplace();
    r.read("enabled", spinlocks.enabled);
    r.read("spinlocks", spinlocks.retries);
  });
  hyperv.read_map("synictimer", [&](MapReader& r) {
    auto& timer = out.synictimer.emplace();
    r.read("enabled", timer.enabled);
    read_sub_toggle(r, "direct", timer.direct_set, timer.direct);
  });
  hyperv.read_map("vendorid", [&](MapReader& r) {
    auto& vendor = out.vendorid.emplace();
    r.read("enabled", vendor.enabled);
    r.read("vendorid", vendor.vendor_id);
  });
  hyperv.read_map("tlbflush", [&](MapReader& r) {
    auto& flush = out.tlbflush.emplace();
    r.read("enabled", flush.enabled);
    read_sub_toggle(r, "direct", flush.direct_set, flush.direct);
    read_sub_toggle(r, "extended", flush.extended_set, flush.extended);
  });
}

}  // namespace

void read_toggle(MapReader& parent, std::string_view key, std::optional<Toggle>& out) {
  parent.read_map(key, [&](MapReader& r) {
    Toggle t;
    r.read("enabled", t.enabled);
    out = t;
  });
}

void read_clock(MapReader& clock, ClockSpec& out) {
  switch (clock.one_of({"utc", "timezone"}, false).value_or(2)) {
    case 0:
      out.utc_set = clock.read_map("utc", [&](MapReader& utc) {
        utc.read("offsetSeconds", out.utc_offset_seconds);
      });
      break;
    case 1:
      clock.read("timezone", out.timezone);
      break;
    default:
      break;
  }
  clock.read_map("timer", [&](MapReader& timer) { read_timers(timer, out); });
}

void read_features(MapReader& features, FeaturesSpec& out) {
  read_toggle(features, "acpi", out.acpi);
  read_toggle(features, "apic", out.apic);
  read_toggle(features, "smm", out.smm);
  read_toggle(features, "pvspinlock", out.pvspinlock);
  features.read_map("kvm", [&](MapReader& kvm) { kvm.read("hidden", out.kvm_hidden); });
  features.read_map("hyperv", [&](MapReader& r) { read_hyperv(r, out.hyperv.emplace()); });
  read_toggle(features, "hypervPassthrough", out.hyperv_passthrough);
}

}  // namespace qmd::policy::parse_parts
