#pragma once
// One command-line option as devices produce it: a flag and an optional value. cmdline's
// Argv stores exactly this type (cmdline::Option is an alias), so fragments append as is.
#include <optional>
#include <string>

namespace qmd::devices {

struct Option {
  std::string flag;                  // "-device"
  std::optional<std::string> value;  // "virtio-rng-pci,id=rng0,..."
  auto operator<=>(const Option&) const = default;
};

}  // namespace qmd::devices
