#pragma once
// How a guest tells QEMU it panicked (QEMU's GUEST_PANICKED event): a Windows guest — one
// with Hyper-V enlightenments — writes its bugcheck to the Hyper-V crash MSRs (hv-crash)
// when the host takes them; every other guest gets the ISA pvpanic device (Linux's
// pvpanic driver, virtio-win's pvpanic driver for a Windows guest whose host refuses
// hv-crash). Only a probed host that accepted hv-crash gets it: QEMU fails to start on a
// kernel without the crash MSRs.
#include <map>
#include <string>

#include "policy/spec.hpp"

namespace qmd::policy {

enum class PanicNotifier { pvpanic, hv_crash };

// `verdicts`: the probed Hyper-V features of the accelerator the VM runs on (nullptr when
// they were not probed).
PanicNotifier panic_notifier(const VmSpec& spec, const std::map<std::string, bool>* verdicts);

}  // namespace qmd::policy
