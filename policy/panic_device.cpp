#include "policy/panic_device.hpp"

namespace qmd::policy {

namespace {

bool has_hyperv(const VmSpec& spec) {
  const auto& f = spec.domain.features;
  return f.hyperv.has_value() ||
         (f.hyperv_passthrough && f.hyperv_passthrough->enabled.value_or(true));
}

}  // namespace

PanicNotifier panic_notifier(const VmSpec& spec, const std::map<std::string, bool>* verdicts) {
  if (!has_hyperv(spec) || verdicts == nullptr) {
    return PanicNotifier::pvpanic;
  }
  const auto it = verdicts->find("crash");
  return it != verdicts->end() && it->second ? PanicNotifier::hv_crash : PanicNotifier::pvpanic;
}

}  // namespace qmd::policy
