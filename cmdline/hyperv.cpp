#include <algorithm>

#include <fmt/format.h>

#include "cmdline/core_configurators.hpp"

namespace qmd::cmdline {

namespace {

bool on(const std::optional<policy::Toggle>& t) { return t && t->enabled.value_or(true); }

}  // namespace

std::vector<std::string> hyperv_cpu_flags(const policy::VmSpec& spec,
                                          const std::vector<std::string>& dropped) {
  std::vector<std::string> flags;
  const auto& f = spec.domain.features;
  const bool hv_time = spec.domain.clock.hyperv && spec.domain.clock.hyperv->present.value_or(true);
  auto add = [&](std::string name, std::string value = {}) {
    if (std::find(dropped.begin(), dropped.end(), name) != dropped.end()) {
      return;
    }
    flags.push_back(value.empty() ? name : name + "=" + value);
  };
  if (f.hyperv_passthrough && f.hyperv_passthrough->enabled.value_or(true)) {
    add("hv-passthrough");
  }
  if (f.hyperv) {
    const auto& h = *f.hyperv;
    // Dependencies before dependents, as QEMU checks them: vpindex before synic/tlbflush/ipi,
    // synic + time before stimer, vapic before evmcs.
    if (on(h.relaxed)) add("hv-relaxed");
    if (on(h.vapic)) add("hv-vapic");
    if (h.spinlocks && h.spinlocks->enabled.value_or(true)) {
      add("hv-spinlocks", fmt::format("{:#x}", h.spinlocks->retries.value_or(4096)));
    }
    if (on(h.vpindex)) add("hv-vpindex");
    if (on(h.runtime)) add("hv-runtime");
    if (on(h.synic)) add("hv-synic");
    if (hv_time) add("hv-time");
    if (h.synictimer && h.synictimer->enabled.value_or(true)) {
      add("hv-stimer");
      if (h.synictimer->direct_set && h.synictimer->direct.enabled.value_or(true)) {
        add("hv-stimer-direct");
      }
    }
    if (on(h.reset)) add("hv-reset");
    if (h.vendorid && h.vendorid->enabled.value_or(true) && h.vendorid->vendor_id) {
      add("hv-vendor-id", qemu_escape(*h.vendorid->vendor_id));
    }
    if (on(h.frequencies)) add("hv-frequencies");
    if (on(h.reenlightenment)) add("hv-reenlightenment");
    if (h.tlbflush && h.tlbflush->enabled.value_or(true)) {
      add("hv-tlbflush");
      if (h.tlbflush->direct_set && h.tlbflush->direct.enabled.value_or(true)) {
        add("hv-tlbflush-direct");
      }
      if (h.tlbflush->extended_set && h.tlbflush->extended.enabled.value_or(true)) {
        add("hv-tlbflush-ext");
      }
    }
    if (on(h.ipi)) add("hv-ipi");
    if (on(h.evmcs)) add("hv-evmcs");
  } else if (hv_time) {
    add("hv-time");
  }
  return flags;
}

}  // namespace qmd::cmdline
