// Hyper-V enlightenments: QEMU's dependency rules (docs/system/i386/hyperv.rst) checked here so
// that a bad combination never reaches QEMU, plus KubeVirt's value rules.
#include <fmt/format.h>

#include "policy/host_cpu_flags.hpp"
#include "policy/validate_rules.hpp"

namespace qmd::policy::rules {
namespace {

const std::string kHv = "domain.features.hyperv.";

template <typename T>
bool feature_on(const std::optional<T>& f) {
  return f && f->enabled.value_or(true);
}

// `feature` is on but its prerequisite `dependency` (a path relative to the VMI spec) is off.
// apply_defaults turns on absent prerequisites, so here it was turned off explicitly.
void need(const VmSpec& spec, bool on, bool dep_on, const std::string& feature,
          const std::string& dependency, std::string_view why, SpecErrors& errors) {
  if (on && !dep_on) {
    errors.push_back(spec.source.error_at(
        kHv + feature,
        fmt::format("needs {}, which is off: enable {} or disable {} ({})",
                    spec.source.spec_path(dependency), dependency.substr(dependency.rfind('.') + 1),
                    feature, why)));
  }
}

void validate_dependencies(const VmSpec& spec, const HypervFeatures& hv, SpecErrors& errors) {
  const bool vpindex = is_on(hv.vpindex);
  const bool vapic = is_on(hv.vapic);
  const bool synic = is_on(hv.synic);
  const bool synictimer = feature_on(hv.synictimer);
  const bool tlbflush = feature_on(hv.tlbflush);
  need(spec, synic, vpindex, "synic", kHv + "vpindex", "QEMU's hv-synic needs hv-vpindex", errors);
  need(spec, synictimer, synic, "synictimer", kHv + "synic", "QEMU's hv-stimer needs hv-synic",
       errors);
  const auto& hv_timer = spec.domain.clock.hyperv;
  need(spec, synictimer, hv_timer && hv_timer->present.value_or(true), "synictimer",
       "domain.clock.timer.hyperv", "QEMU's hv-stimer needs hv-time", errors);
  if (hv.synictimer && hv.synictimer->direct_set) {
    need(spec, hv.synictimer->direct.enabled.value_or(true), synictimer, "synictimer.direct",
         kHv + "synictimer", "direct mode is part of the synthetic timers", errors);
  }
  need(spec, tlbflush, vpindex, "tlbflush", kHv + "vpindex",
       "QEMU's hv-tlbflush needs hv-vpindex", errors);
  if (hv.tlbflush && hv.tlbflush->direct_set) {
    need(spec, hv.tlbflush->direct.enabled.value_or(true), vapic, "tlbflush.direct",
         kHv + "vapic", "QEMU's hv-tlbflush-direct needs hv-vapic", errors);
  }
  if (hv.tlbflush && hv.tlbflush->extended_set) {
    need(spec, hv.tlbflush->extended.enabled.value_or(true), tlbflush, "tlbflush.extended",
         kHv + "tlbflush", "extended flushes are part of tlbflush", errors);
  }
  need(spec, is_on(hv.ipi), vpindex, "ipi", kHv + "vpindex", "QEMU's hv-ipi needs hv-vpindex",
       errors);
  need(spec, is_on(hv.evmcs), vapic, "evmcs", kHv + "vapic", "QEMU's hv-evmcs needs hv-vapic",
       errors);
}

// hv-evmcs is nested VMX: apply_defaults requires the vmx flag with it, unless the spec turns
// vmx off, which leaves the guest an enlightened VMCS it cannot use.
void validate_evmcs_vmx(const VmSpec& spec, const HypervFeatures& hv, SpecErrors& errors) {
  if (!is_on(hv.evmcs)) {
    return;
  }
  const auto& features = spec.domain.cpu.features;
  for (std::size_t i = 0; i < features.size(); ++i) {
    const std::string policy = features[i].policy.value_or("require");
    if (canonical_cpu_flag(features[i].name) != "vmx" ||
        (policy != "disable" && policy != "forbid")) {
      continue;
    }
    const auto entry = fmt::format("domain.cpu.features[{}]", i);
    const auto mark = spec.source.find(spec.source.spec_path(entry + ".policy"));
    errors.push_back(spec.source.error_at(
        kHv + "evmcs",
        fmt::format("needs the CPU flag vmx, which {} turns off (policy {}, {}:{}:{}): remove "
                    "that entry or disable evmcs (the enlightened VMCS serves nested "
                    "virtualization)",
                    spec.source.spec_path(entry), policy, spec.source.file(), mark.line,
                    mark.column)));
  }
}

void validate_values(const VmSpec& spec, const HypervFeatures& hv, SpecErrors& errors) {
  if (feature_on(hv.vendorid)) {
    const auto& id = hv.vendorid->vendor_id;
    if (!id || id->empty()) {
      errors.push_back(spec.source.error_at(kHv + "vendorid",
                                            "needs vendorid: the id to show, up to 12 characters"));
    } else if (id->size() > 12) {
      errors.push_back(spec.source.error_at(
          kHv + "vendorid.vendorid",
          fmt::format("\"{}\" has {} characters; a Hyper-V vendor id has at most 12", *id,
                      id->size())));
    }
  }
  // KubeVirt's minimum; Windows treats smaller counts as "retry forever" anyway.
  if (feature_on(hv.spinlocks) && hv.spinlocks->retries && *hv.spinlocks->retries < 4095) {
    errors.push_back(spec.source.error_at(
        kHv + "spinlocks.spinlocks",
        fmt::format("is {}; spinlock retries must be at least 4095", *hv.spinlocks->retries)));
  }
}

}  // namespace

void validate_features(const VmSpec& spec, SpecErrors& errors) {
  const auto& features = spec.domain.features;
  if (!features.hyperv) {
    return;
  }
  if (is_on(features.hyperv_passthrough)) {
    errors.push_back(spec.source.error_at(
        "domain.features.hypervPassthrough",
        "turns on every Hyper-V feature the host has and cannot be combined with "
        "features.hyperv; remove one of them"));
    return;
  }
  validate_dependencies(spec, *features.hyperv, errors);
  validate_evmcs_vmx(spec, *features.hyperv, errors);
  validate_values(spec, *features.hyperv, errors);
}

}  // namespace qmd::policy::rules
