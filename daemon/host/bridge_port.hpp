#pragma once
// Which bridge a host interface is a port of, and taking it out: what keeps a tap that
// outlives its VM (another process still holds it open) off the bridge, and what refuses a
// `tap` binding that names one of qmd's own taps. Reads /sys/class/net; blocking only as
// much as a sysfs read (run it on the pool where the loop thread must not wait).
#include <expected>
#include <optional>
#include <string>
#include <vector>

namespace qmd::daemon {

// The bridge `interface` is enslaved to; nullopt when none (or no such interface).
std::optional<std::string> bridge_of(const std::string& interface);
// The ports of `bridge` (none when it does not exist).
std::vector<std::string> bridge_ports(const std::string& bridge);
// Takes `interface` out of its bridge (SIOCBRDELIF); not on one: nothing to do.
std::expected<void, std::string> leave_bridge(const std::string& interface);

// qmd's own tap-name form: "tap-" and 8 lowercase hex digits (devices::bridge_tap_name).
bool is_qmd_tap_name(const std::string& name);

// A `tap` binding's tap must be the user's own: neither in qmd's tap-name form nor a port of
// one of the bridges qmd manages. The error names the interface, the tap and what holds it.
std::expected<void, std::string> check_tap_binding(const std::string& interface,
                                                   const std::string& tap,
                                                   const std::vector<std::string>& managed);

}  // namespace qmd::daemon
