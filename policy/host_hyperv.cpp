// The Hyper-V enlightenments qmd knows and what each one needs (QEMU 7.2's
// target/i386/kvm/kvm.c dependency table, checked against `-device host-x86_64-cpu,help`).
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "policy/host_caps.hpp"

namespace qmd::policy {

const std::vector<std::string>& known_hyperv_features() {
  static const std::vector<std::string> features{
      "relaxed", "vapic",     "spinlocks", "vpindex",         "runtime",
      "synic",   "time",      "stimer",    "stimer-direct",   "reset",
      "vendor-id", "frequencies", "reenlightenment", "tlbflush", "tlbflush-ext",
      "ipi",     "evmcs",     "tlbflush-direct", "passthrough", "crash"};
  return features;
}

const std::vector<std::string>& hyperv_dependencies(std::string_view feature) {
  static const std::map<std::string, std::vector<std::string>, std::less<>> deps{
      {"synic", {"vpindex"}},
      {"stimer", {"synic", "time"}},
      {"stimer-direct", {"stimer"}},
      {"tlbflush", {"vpindex"}},
      {"tlbflush-ext", {"tlbflush"}},
      {"ipi", {"vpindex"}},
      {"evmcs", {"vapic"}},
      {"tlbflush-direct", {"evmcs"}},
  };
  static const std::vector<std::string> none;
  const auto it = deps.find(feature);
  return it == deps.end() ? none : it->second;
}

}  // namespace qmd::policy
