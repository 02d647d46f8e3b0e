#include "policy/defaults_kubevirt.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "policy/host_cpu_flags.hpp"

namespace qmd::policy {

void add_warning(VmSpec& spec, SpecError warning) {
  const bool known = std::ranges::any_of(spec.warnings, [&](const SpecError& w) {
    return w.path == warning.path && w.message == warning.message;
  });
  if (!known) {
    spec.warnings.push_back(std::move(warning));
  }
}

namespace kubevirt {
namespace {

constexpr std::uint64_t kMi = 1024 * 1024;

bool is_on(const std::optional<Toggle>& t) { return t && t->enabled.value_or(true); }

}  // namespace

void align_guest_memory(VmSpec& spec, std::string_view field) {
  auto& mem = spec.domain.memory;
  if (!mem.guest || *mem.guest % kMi == 0 || *mem.guest > UINT64_MAX - kMi) {
    return;
  }
  mem.guest_unaligned = *mem.guest;
  mem.guest = (*mem.guest / kMi + 1) * kMi;
  add_warning(spec, spec.source.error_at(
                        field,
                        fmt::format("{} bytes is not a whole number of MiB; the guest gets {}Mi "
                                    "({} bytes), aligned up to 1Mi as libvirt does",
                                    *mem.guest_unaligned, *mem.guest / kMi, *mem.guest)));
}

void add_volume_disks(VmSpec& spec) {
  auto& disks = spec.domain.devices.disks;
  for (std::size_t j = 0; j < spec.volumes.size(); ++j) {
    const auto& name = spec.volumes[j].name;
    if (name.empty() || std::ranges::any_of(disks, [&](const auto& d) { return d.name == name; })) {
      continue;
    }
    // Errors about the added disk point at the volume that brought it.
    for (auto part : {"", ".name"}) {
      spec.source.record(
          spec.source.spec_path(fmt::format("domain.devices.disks[{}]{}", disks.size(), part)),
          spec.source.find(spec.source.spec_path(fmt::format("volumes[{}]{}", j, part))));
    }
    DiskDevice disk;
    disk.name = name;
    disk.for_volume = true;
    disks.push_back(std::move(disk));
  }
}

void add_default_pod_network(VmSpec& spec) {
  auto& dev = spec.domain.devices;
  if (!dev.interfaces.empty() || !spec.networks.empty() ||
      !dev.autoattach_pod_interface.value_or(true)) {
    return;
  }
  Network pod;
  pod.name = "default";
  pod.kind = NetworkKind::pod;
  spec.networks.push_back(std::move(pod));
  InterfaceDevice nic;
  nic.name = "default";
  nic.binding = "masquerade";
  dev.interfaces.push_back(std::move(nic));
}

void bridge_on_pod_network(VmSpec& spec) {
  auto& nics = spec.domain.devices.interfaces;
  for (std::size_t i = 0; i < nics.size(); ++i) {
    const auto net = std::ranges::find(spec.networks, nics[i].name, &Network::name);
    if (nics[i].binding != "bridge" || net == spec.networks.end() ||
        net->kind != NetworkKind::pod) {
      continue;
    }
    nics[i].binding = "masquerade";
    const auto bridge = fmt::format("domain.devices.interfaces[{}].bridge", i);
    spec.source.record(
        spec.source.spec_path(fmt::format("domain.devices.interfaces[{}].masquerade", i)),
        spec.source.find(spec.source.spec_path(bridge)));
    add_warning(spec, spec.source.error_at(
                          bridge, fmt::format("binds the pod network \"{}\", which is qmd's NAT "
                                              "network on one host: connected as masquerade, "
                                              "the guest gets its address there by DHCP",
                                              net->name)));
  }
}

namespace {

const std::string kHv = "domain.features.hyperv.";

// Turns `prerequisite` on when the spec does not mention it, warning at `feature`.
void require(VmSpec& spec, std::optional<Toggle>& prerequisite, std::string_view name,
             std::string_view feature) {
  if (prerequisite) {
    return;
  }
  prerequisite = Toggle{true};
  // What the added feature brings in turn is reported at the feature the spec names.
  spec.source.record(spec.source.spec_path(kHv + std::string(name)),
                     spec.source.find(spec.source.spec_path(kHv + std::string(feature))));
  add_warning(spec, spec.source.error_at(
                        kHv + std::string(feature),
                        fmt::format("needs hyperv.{}, which the spec does not set; turned on {}: "
                                    "{{}} as KubeVirt does",
                                    name, spec.source.spec_path(kHv + std::string(name)))));
}

// hv-evmcs is nested VMX: KubeVirt requires the vmx CPU flag with it (setEVMCSDependency),
// adding the entry or raising its policy to require. A vmx the spec disables or forbids is
// left as it is: validation reports it.
void require_vmx_for_evmcs(VmSpec& spec) {
  auto& features = spec.domain.cpu.features;
  const auto at = std::ranges::find_if(
      features, [](const CpuFeature& f) { return canonical_cpu_flag(f.name) == "vmx"; });
  if (at == features.end()) {
    const auto path = fmt::format("domain.cpu.features[{}]", features.size());
    const auto evmcs = spec.source.find(spec.source.spec_path(kHv + "evmcs"));
    for (auto part : {"", ".name", ".policy"}) {
      spec.source.record(spec.source.spec_path(path + part), evmcs);
    }
    features.push_back(CpuFeature{.name = "vmx", .policy = "require", .for_evmcs = true});
    add_warning(spec, spec.source.error_at(
                          kHv + "evmcs",
                          fmt::format("needs the CPU flag vmx, which the spec does not list; "
                                      "added {}: {{name: vmx, policy: require}} as KubeVirt does",
                                      spec.source.spec_path(path))));
    return;
  }
  if (at->policy.value_or("require") != "optional") {
    return;  // require and force give vmx; disable and forbid are validation's
  }
  at->policy = "require";
  at->for_evmcs = true;
  add_warning(spec, spec.source.error_at(
                        kHv + "evmcs",
                        fmt::format("needs the CPU flag vmx; {} had policy optional, raised to "
                                    "require as KubeVirt does",
                                    spec.source.spec_path(fmt::format(
                                        "domain.cpu.features[{}]", at - features.begin())))));
}

}  // namespace

void enable_hyperv_prerequisites(VmSpec& spec) {
  auto& features = spec.domain.features;
  if (!features.hyperv || is_on(features.hyperv_passthrough)) {
    return;
  }
  auto& hv = *features.hyperv;
  // Dependents first, so that a prerequisite added here brings its own.
  if (hv.synictimer && hv.synictimer->enabled.value_or(true)) {
    require(spec, hv.synic, "synic", "synictimer");
    auto& timer = spec.domain.clock.hyperv;
    if (!timer) {
      timer.emplace().present = true;
      add_warning(spec, spec.source.error_at(
                            kHv + "synictimer",
                            fmt::format("needs the Hyper-V clock, which the spec does not set; "
                                        "turned on {}: {{}} as KubeVirt does",
                                        spec.source.spec_path("domain.clock.timer.hyperv"))));
    }
  }
  if (hv.tlbflush && hv.tlbflush->enabled.value_or(true)) {
    require(spec, hv.vpindex, "vpindex", "tlbflush");
    if (hv.tlbflush->direct_set && hv.tlbflush->direct.enabled.value_or(true)) {
      require(spec, hv.vapic, "vapic", "tlbflush.direct");
    }
  }
  for (auto [feature, name] : {std::pair{&hv.synic, "synic"}, std::pair{&hv.ipi, "ipi"}}) {
    if (is_on(*feature)) {
      require(spec, hv.vpindex, "vpindex", name);
    }
  }
  if (is_on(hv.evmcs)) {
    require(spec, hv.vapic, "vapic", "evmcs");
    require_vmx_for_evmcs(spec);
  }
}

void warn_cluster_annotations(VmSpec& spec) {
  constexpr std::string_view kHooks = "hooks.kubevirt.io/hookSidecars";
  if (!spec.annotations.contains(std::string(kHooks))) {
    return;
  }
  // Where the annotations stand: the template's metadata (KubeVirt reads the VMI's), else the
  // document's. A path that was not recorded finds its parent's position.
  std::string at = fmt::format("metadata.annotations.{}", kHooks);
  const auto recorded = [&](std::string_view path, std::string_view parent) {
    const auto m = spec.source.find(path);
    const auto p = spec.source.find(parent);
    return m.line != 0 && (m.line != p.line || m.column != p.column);
  };
  if (recorded("spec.template.metadata.annotations", "spec.template.metadata")) {
    at = fmt::format("spec.template.metadata.annotations.{}", kHooks);
  }
  add_warning(spec, spec.source.error_at_full(
                        at, "has no effect on one host (KubeVirt runs these sidecars in the "
                            "VM's pod to edit libvirt's domain); ignored"));
}

void enable_smm_for_secure_boot(VmSpec& spec) {
  const auto& fw = spec.domain.firmware;
  if (fw.bootloader == BootloaderKind::efi && fw.efi.secure_boot.value_or(true) &&
      !spec.domain.features.smm) {
    spec.domain.features.smm = Toggle{true};
  }
}

}  // namespace kubevirt
}  // namespace qmd::policy
