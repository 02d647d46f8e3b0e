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

// One QEMU start is ~0.1 s (KVM) to ~0.3 s (TCG); a hung one must not eat the whole budget.
constexpr milliseconds kProbeTimeout{3000};
// QEMU runs are mostly waiting on the kernel; a few more than the 2 cores is fine.
constexpr std::size_t kWorkers = 4;

milliseconds budget(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
  return std::clamp(left, milliseconds{0}, kProbeTimeout);
}

// Starts QEMU once per known feature on top of `base` under `accel`, in parallel, and
// records each verdict; a feature whose dependency is refused is refused too.
void probe_features(const std::string& qemu, const std::string& accel, const std::string& base,
                    Clock::time_point deadline, std::map<std::string, bool>& accepted_out,
                    std::map<std::string, std::string>& detail_out) {
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
          results[i] = run_cpu_probe(qemu, accel, hyperv_probe_cpu_arg(base, features[i]), left);
        }
      });
    }
  }  // joined

  // Dependencies come first in known_hyperv_features(), so their verdicts are final here.
  accepted_out.clear();
  detail_out.clear();
  for (std::size_t i = 0; i < features.size(); ++i) {
    const auto& f = features[i];
    bool accepted = cpu_probe_accepted(results[i]);
    std::string why = cpu_probe_complaint(results[i]);
    for (const auto& dep : hyperv_dependencies(f)) {
      if (!accepted_out[dep]) {
        accepted = false;
        why = "needs " + dep + ", which is refused";
        break;
      }
    }
    accepted_out[f] = accepted;
    if (!accepted) {
      detail_out[f] = why;
    }
  }
}

}  // namespace

void probe_hyperv(HostCaps& caps, Clock::time_point deadline) {
  caps.hyperv.clear();
  caps.hyperv_detail.clear();
  caps.hyperv_probed = false;
  if (caps.kvm_usable) {
    const auto host = run_cpu_probe(caps.qemu_binary, "kvm", "host", budget(deadline));
    caps.cpu_host_usable = cpu_probe_accepted(host);
    caps.cpu_host_detail = cpu_probe_complaint(host);
    caps.hyperv_probe_cpu = "host";
    bool base_ok = caps.cpu_host_usable;
    if (!base_ok) {
      // The Hyper-V MSRs are KVM's, not the CPU model's: a plain model isolates them.
      caps.hyperv_probe_cpu = "qemu64";
      base_ok = cpu_probe_accepted(
          run_cpu_probe(caps.qemu_binary, "kvm", "qemu64", budget(deadline)));
    }
    if (base_ok) {
      probe_features(caps.qemu_binary, "kvm", caps.hyperv_probe_cpu, deadline, caps.hyperv,
                     caps.hyperv_detail);
      caps.hyperv_probed = true;
    }
  }
  // TCG is what `useEmulation` runs; its verdicts do not depend on /dev/kvm.
  caps.hyperv_tcg_probed = false;
  if (cpu_probe_accepted(run_cpu_probe(caps.qemu_binary, "tcg", "max", budget(deadline)))) {
    probe_features(caps.qemu_binary, "tcg", "max", deadline, caps.hyperv_tcg,
                   caps.hyperv_tcg_detail);
    caps.hyperv_tcg_probed = true;
  }
}

}  // namespace qmd::policy
