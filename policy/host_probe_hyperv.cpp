#include "policy/host_probe_hyperv.hpp"

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include "policy/host_probe_qemu.hpp"

namespace qmd::policy {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// One QEMU start is ~0.1 s; a hung one must not eat the whole budget.
constexpr milliseconds kProbeTimeout{3000};
// QEMU runs are mostly waiting on the kernel; a few more than the 2 cores is fine.
constexpr std::size_t kWorkers = 4;

milliseconds budget(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
  return std::clamp(left, milliseconds{0}, kProbeTimeout);
}

}  // namespace

void probe_hyperv(HostCaps& caps, Clock::time_point deadline) {
  caps.hyperv.clear();
  caps.hyperv_detail.clear();
  caps.hyperv_probed = false;
  const auto host = run_kvm_cpu_probe(caps.qemu_binary, "host", budget(deadline));
  caps.cpu_host_usable = kvm_cpu_probe_accepted(host);
  caps.cpu_host_detail = kvm_cpu_probe_complaint(host);
  caps.hyperv_probe_cpu = "host";
  if (!caps.cpu_host_usable) {
    // The Hyper-V MSRs are KVM's, not the CPU model's: a plain model isolates them.
    caps.hyperv_probe_cpu = "qemu64";
    if (!kvm_cpu_probe_accepted(run_kvm_cpu_probe(caps.qemu_binary, "qemu64",
                                                  budget(deadline)))) {
      return;
    }
  }

  const auto& features = known_hyperv_features();
  std::vector<ProcessResult> results(features.size());
  std::atomic<std::size_t> next{0};
  {
    std::vector<std::jthread> workers;
    for (std::size_t w = 0; w < std::min(kWorkers, features.size()); ++w) {
      workers.emplace_back([&] {
        for (auto i = next++; i < features.size(); i = next++) {
          const auto left = budget(deadline);
          if (left.count() == 0) {
            results[i].error = "no time left in the host probe";
            continue;
          }
          results[i] = run_kvm_cpu_probe(
              caps.qemu_binary, hyperv_probe_cpu_arg(caps.hyperv_probe_cpu, features[i]), left);
        }
      });
    }
  }  // joined

  // Dependencies come first in known_hyperv_features(), so their verdicts are final here.
  for (std::size_t i = 0; i < features.size(); ++i) {
    const auto& f = features[i];
    bool accepted = kvm_cpu_probe_accepted(results[i]);
    std::string why = kvm_cpu_probe_complaint(results[i]);
    for (const auto& dep : hyperv_dependencies(f)) {
      if (!caps.hyperv[dep]) {
        accepted = false;
        why = "needs " + dep + ", which is refused";
        break;
      }
    }
    caps.hyperv[f] = accepted;
    if (!accepted) {
      caps.hyperv_detail[f] = why;
    }
  }
  caps.hyperv_probed = true;
}

}  // namespace qmd::policy
