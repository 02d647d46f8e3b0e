// check_host: a spec against what a host can do, so that a VM the host cannot run fails
// before QEMU starts, with the field, the host and the fix named, instead of QEMU aborting.
#include <algorithm>
#include <numeric>

#include <fmt/format.h>

#include "policy/host_cpu_flags.hpp"
#include "policy/host_units.hpp"
#include "policy/validate.hpp"

namespace qmd::policy {
namespace {

bool on(const std::optional<Toggle>& t) { return t && t->enabled.value_or(true); }

// A requested enlightenment: QEMU's name (without hv-) and how the spec calls it.
struct Requested {
  std::string qemu;
  std::string kubevirt;
};

std::vector<Requested> requested_hyperv(const VmSpec& spec) {
  std::vector<Requested> out;
  const auto add = [&](bool want, const char* qemu, const char* kubevirt) {
    if (want) {
      out.push_back({qemu, kubevirt});
    }
  };
  if (const auto& hv = spec.domain.features.hyperv) {
    add(on(hv->relaxed), "relaxed", "relaxed");
    add(on(hv->vapic), "vapic", "vapic");
    add(hv->spinlocks && hv->spinlocks->enabled.value_or(true), "spinlocks", "spinlocks");
    add(on(hv->vpindex), "vpindex", "vpindex");
    add(on(hv->runtime), "runtime", "runtime");
    add(on(hv->synic), "synic", "synic");
    const bool stimer = hv->synictimer && hv->synictimer->enabled.value_or(true);
    add(stimer, "stimer", "synictimer");
    add(stimer && hv->synictimer->direct_set && hv->synictimer->direct.enabled.value_or(true),
        "stimer-direct", "synictimer.direct");
    add(on(hv->reset), "reset", "reset");
    add(hv->vendorid && hv->vendorid->enabled.value_or(true), "vendor-id", "vendorid");
    add(on(hv->frequencies), "frequencies", "frequencies");
    add(on(hv->reenlightenment), "reenlightenment", "reenlightenment");
    const bool tlb = hv->tlbflush && hv->tlbflush->enabled.value_or(true);
    add(tlb, "tlbflush", "tlbflush");
    add(tlb && hv->tlbflush->extended_set && hv->tlbflush->extended.enabled.value_or(true),
        "tlbflush-ext", "tlbflush.extended");
    add(on(hv->ipi), "ipi", "ipi");
    add(on(hv->evmcs), "evmcs", "evmcs");
    add(tlb && hv->tlbflush->direct_set && hv->tlbflush->direct.enabled.value_or(true),
        "tlbflush-direct", "tlbflush.direct");
  }
  const auto& timer = spec.domain.clock.hyperv;
  add(timer && timer->present.value_or(true), "time", "clock.timer.hyperv");
  add(on(spec.domain.features.hyperv_passthrough), "passthrough", "hypervPassthrough");
  // Dependencies first (hv-time sits before hv-stimer), so one pass can follow drops.
  const auto& known = known_hyperv_features();
  std::ranges::stable_sort(out, {}, [&](const Requested& r) {
    return std::ranges::find(known, r.qemu) - known.begin();
  });
  return out;
}

std::string names_of(const std::vector<Requested>& list) {
  std::vector<std::string> names;
  for (const auto& r : list) {
    names.push_back(fmt::format("{} (hv-{})", r.kubevirt, r.qemu));
  }
  return fmt::format("{}", fmt::join(names, ", "));
}

// `verdicts` are the probed Hyper-V verdicts of the accelerator the VM will run on.
void check_hyperv(const VmSpec& spec, const HostCaps& host, const RunPolicy& policy,
                  const std::map<std::string, bool>& verdicts, HostCheck& check) {
  const auto requested = requested_hyperv(spec);
  // A feature goes when the host refuses it or anything it needs has gone.
  std::vector<Requested> refused;
  std::vector<std::string> gone;
  for (const auto& r : requested) {
    const auto it = verdicts.find(r.qemu);
    bool drop = it == verdicts.end() || !it->second;
    for (const auto& dep : hyperv_dependencies(r.qemu)) {
      drop = drop || std::ranges::find(gone, dep) != gone.end();
    }
    if (drop) {
      refused.push_back(r);
      gone.push_back(r.qemu);
    }
  }
  if (refused.empty()) {
    return;
  }
  const std::string field = spec.domain.features.hyperv || spec.domain.features.hyperv_passthrough
                                ? "domain.features.hyperv"
                                : "domain.clock.timer.hyperv";
  const std::string who = policy.use_emulation
                              ? fmt::format("QEMU's TCG on host \"{}\"", host.hostname)
                              : fmt::format("host \"{}\"", host.hostname);
  if (policy.hyperv == RunPolicy::Hyperv::strict) {
    check.errors.push_back(spec.source.error_at(
        field, fmt::format("{} refuses Hyper-V features {}; remove them or run with "
                           "hyperv: bestEffort",
                           who, names_of(refused))));
    return;
  }
  for (const auto& r : refused) {
    check.dropped_hyperv.push_back("hv-" + r.qemu);
  }
  check.warnings.push_back(fmt::format("{}: {} refuses Hyper-V features {}; dropped "
                                       "(hyperv: bestEffort)",
                                       spec.source.spec_path(field), who, names_of(refused)));
}

void check_memory(const VmSpec& spec, const HostCaps& host, HostCheck& check) {
  const auto& mem = spec.domain.memory;
  const std::uint64_t guest = mem.guest.value_or(spec.domain.resources.requests.memory.value_or(0));
  if (mem.hugepages_page_size && guest > 0) {
    const std::uint64_t size = *mem.hugepages_page_size;
    const std::uint64_t needed = (guest + size - 1) / size;
    const auto it = host.hugepages.find(size);
    const std::uint64_t free = it == host.hugepages.end() ? 0 : it->second.free;
    if (free < needed) {
      const std::string name = format_binary_quantity(size);
      const std::string fix = size >= (1ULL << 30)
                                  ? fmt::format("reserve them at boot (hugepagesz={} hugepages=N)",
                                                size == (1ULL << 30) ? "1G" : name)
                                  : fmt::format("configure vm.nr_hugepages (or {}/nr_hugepages)",
                                                fmt::format("/sys/kernel/mm/hugepages/"
                                                            "hugepages-{}kB",
                                                            size / 1024));
      const std::string has =
          it == host.hugepages.end()
              ? fmt::format("host \"{}\" has no {} pool", host.hostname, name)
              : fmt::format("host \"{}\" has {} free ({} total)", host.hostname, free,
                            it->second.total);
      check.errors.push_back(spec.source.error_at(
          "domain.memory.hugepages.pageSize",
          fmt::format("needs {} free {} hugepages for {}, {}; {}", needed, name,
                      format_binary_quantity(guest), has, fix)));
    }
  }
  if (host.memory_total == 0) {
    return;
  }
  const bool ceiling = mem.max_guest.has_value();
  const std::uint64_t wanted = ceiling ? *mem.max_guest : guest;
  if (wanted > host.memory_total) {
    check.errors.push_back(spec.source.error_at(
        ceiling ? "domain.memory.maxGuest" : "domain.memory.guest",
        fmt::format("{} is more than host \"{}\" has ({} memory in total)",
                    format_binary_quantity(wanted), host.hostname,
                    format_binary_quantity(host.memory_total))));
  }
}

void check_cpus(const VmSpec& spec, const HostCaps& host, HostCheck& check) {
  const auto& cpu = spec.domain.cpu;
  const std::uint64_t vcpus = std::uint64_t{cpu.sockets.value_or(1)} * cpu.cores.value_or(1) *
                              cpu.threads.value_or(1);
  if (host.cpus_online == 0 || vcpus <= host.cpus_online) {
    return;
  }
  if (cpu.dedicated_cpu_placement.value_or(false)) {
    check.errors.push_back(spec.source.error_at(
        "domain.cpu.dedicatedCpuPlacement",
        fmt::format("needs {} dedicated CPUs, host \"{}\" has {} online; use fewer vCPUs or "
                    "drop dedicatedCpuPlacement",
                    vcpus, host.hostname, host.cpus_online)));
  } else {
    check.warnings.push_back(fmt::format("{}: {} vCPUs on host \"{}\" with {} online CPUs are "
                                         "overcommitted",
                                         spec.source.spec_path("domain.cpu"), vcpus,
                                         host.hostname, host.cpus_online));
  }
}

// Closest names by edit distance, for "did you mean".
std::string close_names(const std::string& wanted, const std::vector<std::string>& names) {
  const auto distance = [&](const std::string& b) {
    std::vector<std::size_t> row(b.size() + 1);
    std::iota(row.begin(), row.end(), 0);
    for (std::size_t i = 1; i <= wanted.size(); ++i) {
      std::size_t prev = row[0]++;
      for (std::size_t j = 1; j <= b.size(); ++j) {
        const std::size_t cur = row[j];
        row[j] = std::min({row[j] + 1, row[j - 1] + 1, prev + (wanted[i - 1] != b[j - 1])});
        prev = cur;
      }
    }
    return row[b.size()];
  };
  std::vector<std::pair<std::size_t, std::size_t>> scored;  // distance, index
  for (std::size_t i = 0; i < names.size(); ++i) {
    scored.emplace_back(distance(names[i]), i);
  }
  std::ranges::stable_sort(scored, {}, &std::pair<std::size_t, std::size_t>::first);
  std::vector<std::string> out;
  for (const auto& [d, i] : scored) {
    if (out.size() == 4 || d > std::max<std::size_t>(3, wanted.size() / 2)) {
      break;
    }
    out.push_back(names[i]);
  }
  return out.empty() ? std::string() : fmt::format("; close ones: {}", fmt::join(out, ", "));
}

void check_machine_and_cpu(const VmSpec& spec, const HostCaps& host, const RunPolicy& policy,
                           HostCheck& check) {
  const auto& type = spec.domain.machine.type;
  if (type && !host.machine_types.empty() &&
      std::ranges::find(host.machine_types, *type) == host.machine_types.end()) {
    check.errors.push_back(spec.source.error_at(
        "domain.machine.type",
        fmt::format("\"{}\" is not a machine type of QEMU {}.{}.{} on host \"{}\"{}", *type,
                    host.qemu_version.major, host.qemu_version.minor, host.qemu_version.micro,
                    host.hostname, close_names(*type, host.machine_types))));
  }
  const std::string model = spec.domain.cpu.model.value_or("host-model");
  const bool host_cpu = model == "host-passthrough" || model == "host-model";
  if (host_cpu && policy.use_emulation) {
    // Unset means "max" under emulation; only an explicit host model is wrong here.
    if (spec.domain.cpu.model) {
      check.errors.push_back(spec.source.error_at(
          "domain.cpu.model", fmt::format("{} needs KVM; under useEmulation (TCG) use a named "
                                          "model such as \"max\" or \"Skylake-Client-v4\"",
                                          model)));
    }
  } else if (host_cpu && host.kvm_usable && !host.cpu_host_usable) {
    check.errors.push_back(spec.source.error_at(
        "domain.cpu.model",
        fmt::format("{} needs QEMU's -cpu host, which does not start on host \"{}\" ({}); use a "
                    "named model such as \"EPYC\" or \"Skylake-Client-v4\"",
                    model, host.hostname, host.cpu_host_detail)));
  } else if (!host_cpu && !host.cpu_models.empty() &&
             std::ranges::find(host.cpu_models, model) == host.cpu_models.end()) {
    check.errors.push_back(spec.source.error_at(
        "domain.cpu.model",
        fmt::format("\"{}\" is not a CPU model of QEMU on host \"{}\"{}", model, host.hostname,
                    close_names(model, host.cpu_models))));
  }
}

void check_devices(const VmSpec& spec, const HostCaps& host, const RunPolicy& policy,
                   HostCheck& check) {
  const auto& fw = spec.domain.firmware;
  if (fw.bootloader == BootloaderKind::efi) {
    const bool sb = fw.efi.secure_boot.value_or(true);
    if (select_ovmf(host, sb) == nullptr) {
      check.errors.push_back(spec.source.error_at(
          sb ? "domain.firmware.bootloader.efi.secureBoot" : "domain.firmware.bootloader.efi",
          host.ovmf.empty()
              ? fmt::format("host \"{}\" has no OVMF firmware; install the ovmf package",
                            host.hostname)
              : fmt::format("host \"{}\" has no OVMF image {} secure boot; install the ovmf "
                            "package{}",
                            host.hostname, sb ? "with" : "without",
                            sb ? " or set secureBoot: false" : "")));
    }
  }
  const auto& tpm = spec.domain.devices.tpm;
  if (tpm && tpm->enabled.value_or(true)) {
    if (!host.swtpm.present || !host.swtpm.tpm2) {
      check.errors.push_back(spec.source.error_at(
          "domain.devices.tpm",
          fmt::format("host \"{}\" has no swtpm with TPM 2.0; install swtpm and swtpm-tools",
                      host.hostname)));
    } else if (tpm->persistent.value_or(false) && host.swtpm.setup_path.empty()) {
      check.errors.push_back(spec.source.error_at(
          "domain.devices.tpm.persistent",
          fmt::format("host \"{}\" has no swtpm_setup to create a persistent TPM; install "
                      "swtpm-tools",
                      host.hostname)));
    }
  }
  const auto kind = spec.domain.launch_security.kind;
  // The kernel must offer the technology and QEMU must know its guest object:
  // sev-snp-guest arrived in QEMU 9.1, tdx-guest in 10.1.
  const auto need = [&](bool have, const char* field, const char* what, const char* param,
                        QemuVersion since) {
    if (!have) {
      check.errors.push_back(spec.source.error_at(
          field, fmt::format("host \"{}\" does not support {} ({} is not enabled)",
                             host.hostname, what, param)));
    } else if (host.qemu_version < since) {
      check.errors.push_back(spec.source.error_at(
          field, fmt::format("QEMU {}.{}.{} on host \"{}\" cannot start {} guests; it needs "
                             "QEMU {}.{} or later",
                             host.qemu_version.major, host.qemu_version.minor,
                             host.qemu_version.micro, host.hostname, what, since.major,
                             since.minor)));
    }
  };
  if (kind == LaunchSecurityKind::sev) {
    need(host.sev, "domain.launchSecurity.sev", "AMD SEV", "kvm_amd sev", {2, 12, 0});
  } else if (kind == LaunchSecurityKind::snp) {
    need(host.sev_snp, "domain.launchSecurity.snp", "AMD SEV-SNP", "kvm_amd sev_snp", {9, 1, 0});
  } else if (kind == LaunchSecurityKind::tdx) {
    need(host.tdx, "domain.launchSecurity.tdx", "Intel TDX", "kvm_intel tdx", {10, 1, 0});
  }
  const auto& nics = spec.domain.devices.interfaces;
  // vhost-net accelerates tap-backed virtio NICs only; user-mode (slirp) NICs never use it.
  const bool virtio = std::ranges::any_of(nics, [](const InterfaceDevice& i) {
    return i.model.value_or("virtio") == "virtio" && (i.binding == "tap" || i.binding == "bridge");
  });
  if (virtio && !host.vhost_net && !policy.use_emulation) {
    check.warnings.push_back(fmt::format("{}: host \"{}\" has no /dev/vhost-net, so virtio-net "
                                         "runs in userspace (slower); modprobe vhost_net",
                                         spec.source.spec_path("domain.devices.interfaces"),
                                         host.hostname));
  }
}

bool evmcs_dropped(const HostCheck& check) {
  return std::ranges::find(check.dropped_hyperv, "hv-evmcs") != check.dropped_hyperv.end();
}

}  // namespace

HostCheck check_host(const VmSpec& spec, const HostCaps& host, const RunPolicy& policy) {
  HostCheck check;
  if (!policy.use_emulation) {
    if (!host.kvm_usable) {
      check.errors.push_back(spec.source.error_at(
          "domain", fmt::format("host \"{}\" cannot run KVM guests: {}; fix /dev/kvm or set "
                                "useEmulation to run under TCG",
                                host.hostname, host.kvm_detail)));
    } else {
      if (!host.kvm_detail.empty()) {
        check.warnings.push_back(fmt::format("host \"{}\": {}", host.hostname, host.kvm_detail));
      }
      if (host.hyperv_probed) {
        check_hyperv(spec, host, policy, host.hyperv, check);
      }
      // Under TCG the guest CPU is emulated: the host's flags do not limit it.
      auto flags = check_cpu_flags(spec, host, evmcs_dropped(check));
      std::ranges::move(flags.errors, std::back_inserter(check.errors));
      check.dropped_cpu_flags = std::move(flags.dropped);
      std::ranges::move(flags.warnings, std::back_inserter(check.warnings));
    }
  } else if (host.hyperv_tcg_probed) {
    check_hyperv(spec, host, policy, host.hyperv_tcg, check);
    // TCG gives no VMX: what evmcs required goes with evmcs.
    if (evmcs_dropped(check) && !flags_for_evmcs(spec).empty()) {
      check.dropped_cpu_flags = flags_for_evmcs(spec);
      check.warnings.push_back(fmt::format(
          "{}: the CPU flags evmcs required ({}) are left out with evmcs under TCG",
          spec.source.spec_path("domain.features.hyperv.evmcs"),
          fmt::join(check.dropped_cpu_flags, ", ")));
    }
  }
  check_machine_and_cpu(spec, host, policy, check);
  check_memory(spec, host, check);
  check_cpus(spec, host, check);
  check_devices(spec, host, policy, check);
  return check;
}

}  // namespace qmd::policy
