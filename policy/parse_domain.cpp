// spec.template.spec and its domain: cpu, memory, resources, machine, firmware, chassis,
// launch security. Clock and features are in parse_features.cpp, devices in parse_devices.cpp.
#include <fmt/format.h>

#include <algorithm>

#include "policy/parse_parts.hpp"

namespace qmd::policy::parse_parts {

namespace {

using yaml::MapReader;

void read_cpu(MapReader& cpu, CpuSpec& out) {
  cpu.read("sockets", out.sockets);
  cpu.read("cores", out.cores);
  cpu.read("threads", out.threads);
  cpu.read("maxSockets", out.max_sockets);
  cpu.read("model", out.model);
  cpu.read("dedicatedCpuPlacement", out.dedicated_cpu_placement);
  cpu.read("isolateEmulatorThread", out.isolate_emulator_thread);
  cpu.read_map("numa", [&](MapReader& numa) {
    if (numa.read_marker("guestMappingPassthrough")) {
      out.numa_guest_mapping_passthrough = true;
    }
  });
  cpu.read_list("features", [&](MapReader& feature, std::size_t) {
    auto& f = out.features.emplace_back();
    feature.require("name");
    feature.read("name", f.name);
    feature.read("policy", f.policy);
  });
}

void read_memory(MapReader& memory, MemorySpec& out) {
  memory.read_bytes("guest", out.guest);
  memory.read_map("hugepages", [&](MapReader& hugepages) {
    hugepages.require("pageSize");
    hugepages.read_bytes("pageSize", out.hugepages_page_size);
  });
  memory.read_bytes("maxGuest", out.max_guest);
}

void read_resource_list(MapReader& list, ResourceList& out) {
  list.read_cpu("cpu", out.cpu);
  list.read_bytes("memory", out.memory);
}

void read_resources(MapReader& resources, Resources& out) {
  resources.read_map("requests", [&](MapReader& r) { read_resource_list(r, out.requests); });
  resources.read_map("limits", [&](MapReader& r) { read_resource_list(r, out.limits); });
  resources.read("overcommitGuestOverhead", out.overcommit_guest_overhead);
}

void read_bootloader(MapReader& bootloader, FirmwareSpec& out) {
  switch (bootloader.one_of({"bios", "efi"}).value_or(2)) {
    case 0:
      bootloader.read_marker("bios");
      out.bootloader = BootloaderKind::bios;
      break;
    case 1:
      bootloader.read_map("efi", [&](MapReader& efi) {
        efi.read("secureBoot", out.efi.secure_boot);
        efi.read("persistent", out.efi.persistent);
      });
      out.bootloader = BootloaderKind::efi;
      break;
    default:
      break;
  }
}

void read_kernel_boot(MapReader& kernel_boot, KernelBoot& out) {
  if (kernel_boot.has("container")) {
    kernel_boot.reject("container",
                       "a kernel from a container image is not available on one host: qmd "
                       "pulls no images; give local files as kernelBoot.kernelPath and "
                       "kernelBoot.initrdPath");
  } else {
    kernel_boot.require("kernelPath");
  }
  kernel_boot.read("kernelPath", out.kernel_path);
  kernel_boot.read("initrdPath", out.initrd_path);
  kernel_boot.read("kernelArgs", out.kernel_args);
}

void read_smbios(MapReader& smbios, SmbiosSystem& out) {
  smbios.read("manufacturer", out.manufacturer);
  smbios.read("product", out.product);
  smbios.read("version", out.version);
  smbios.read("serial", out.serial);
  smbios.read("sku", out.sku);
  smbios.read("family", out.family);
}

void read_firmware(MapReader& firmware, FirmwareSpec& out) {
  firmware.read("uuid", out.uuid);
  firmware.read("serial", out.serial);
  firmware.read_map("bootloader", [&](MapReader& b) { read_bootloader(b, out); });
  firmware.read_map("kernelBoot", [&](MapReader& k) {
    read_kernel_boot(k, out.kernel_boot.emplace());
  });
  firmware.read_map("smbios", [&](MapReader& s) { read_smbios(s, out.smbios); });
}

void read_chassis(MapReader& chassis, Chassis& out) {
  chassis.read("manufacturer", out.manufacturer);
  chassis.read("version", out.version);
  chassis.read("serial", out.serial);
  chassis.read("asset", out.asset);
  chassis.read("sku", out.sku);
}

// SEV policy bits: NODBG (0x1) always; KubeVirt's `encryptedState: true` adds ES (0x4).
constexpr std::uint32_t kSevNoDebug = 0x1;
constexpr std::uint32_t kSevEncryptedState = 0x4;

void read_sev(MapReader& sev, LaunchSecurity& out) {
  auto policy = sev.take("policy");
  if (policy && policy->IsMap()) {
    sev.read_map("policy", [&](MapReader& p) {
      std::optional<bool> encrypted_state;
      p.read("encryptedState", encrypted_state);
      out.sev_policy = kSevNoDebug | (encrypted_state.value_or(false) ? kSevEncryptedState : 0);
    });
  } else {
    sev.read("policy", out.sev_policy);  // our extension: the policy bits as an integer
  }
}

void read_launch_security(MapReader& launch, LaunchSecurity& out) {
  switch (launch.one_of({"sev", "snp", "tdx"}).value_or(3)) {
    case 0:
      launch.read_map("sev", [&](MapReader& sev) { read_sev(sev, out); });
      out.kind = LaunchSecurityKind::sev;
      break;
    case 1:
      launch.read_marker("snp");
      out.kind = LaunchSecurityKind::snp;
      break;
    case 2:
      launch.read_marker("tdx");
      out.kind = LaunchSecurityKind::tdx;
      break;
    default:
      break;
  }
}

// KubeVirt checks both with Kubernetes' IsDNS1123Label.
void read_dns_label(MapReader& spec, std::string_view key, std::optional<std::string>& out) {
  spec.read(key, out);
  if (out && !is_dns_label(*out)) {
    spec.error_at(key, fmt::format("\"{}\" is not a valid {}: use at most 63 lowercase letters, "
                                   "digits and '-', starting and ending with a letter or digit "
                                   "(a DNS label, as KubeVirt requires)",
                                   *out, key));
    out.reset();
  }
}

}  // namespace

bool is_dns_label(std::string_view name) {
  const auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  return !name.empty() && name.size() <= 63 && alnum(name.front()) && alnum(name.back()) &&
         std::ranges::all_of(name, [&](char c) { return alnum(c) || c == '-'; });
}

void read_domain(MapReader& domain, DomainSpec& out) {
  domain.read_map("cpu", [&](MapReader& r) { read_cpu(r, out.cpu); });
  domain.read_map("memory", [&](MapReader& r) { read_memory(r, out.memory); });
  domain.read_map("resources", [&](MapReader& r) { read_resources(r, out.resources); });
  domain.read_map("machine", [&](MapReader& r) { r.read("type", out.machine.type); });
  if (out.machine.type && out.machine.type->empty()) {
    out.machine.type.reset();  // KubeVirt's "" is the default machine type
  }
  domain.read_map("firmware", [&](MapReader& r) { read_firmware(r, out.firmware); });
  domain.read_map("chassis", [&](MapReader& r) { read_chassis(r, out.chassis); });
  domain.read_map("clock", [&](MapReader& r) { read_clock(r, out.clock); });
  domain.read_map("features", [&](MapReader& r) { read_features(r, out.features); });
  domain.read_map("devices", [&](MapReader& r) { read_devices(r, out.devices); });
  domain.read("ioThreadsPolicy", out.io_threads_policy);
  domain.read_map("launchSecurity", [&](MapReader& r) {
    read_launch_security(r, out.launch_security);
  });
}

void read_vmi_spec(MapReader& spec, VmSpec& out) {
  // Scheduling and cluster plumbing: what they choose among does not exist on one host.
  for (auto key : {"priorityClassName", "evictionStrategy", "nodeSelector", "tolerations",
                   "affinity", "schedulerName", "dnsPolicy", "dnsConfig",
                   "topologySpreadConstraints", "resourceClaims"}) {
    spec.accept_ignored(key, kNoEffectHere);
  }
  spec.require("domain");
  spec.read_map("domain", [&](MapReader& domain) { read_domain(domain, out.domain); });
  spec.read_list("volumes", [&](MapReader& volume, std::size_t) {
    read_volume(volume, out.volumes.emplace_back());
  });
  spec.read_list("networks", [&](MapReader& network, std::size_t) {
    read_network(network, out.networks.emplace_back());
  });
  read_access_credentials(spec, out);
  read_probes(spec, out);
  read_dns_label(spec, "hostname", out.hostname);
  read_dns_label(spec, "subdomain", out.subdomain);
  std::optional<std::string> start_strategy;
  spec.read("startStrategy", start_strategy);
  if (start_strategy && *start_strategy != "Paused") {
    spec.error_at("startStrategy",
                  fmt::format("\"{}\" is not a start strategy: KubeVirt's one is Paused (the VM "
                              "starts with its vCPUs stopped until resumed); remove the field "
                              "to start it running",
                              *start_strategy));
  }
  out.start_paused = start_strategy == "Paused";
  std::optional<std::uint32_t> grace;  // a count of seconds: never negative
  spec.read("terminationGracePeriodSeconds", grace);
  if (grace) {
    out.termination_grace_period_seconds = *grace;
  }
  // qmd runs qemu-system-x86_64 only: KubeVirt's amd64 is the one architecture there is.
  std::optional<std::string> architecture;
  spec.read("architecture", architecture);
  if (architecture && *architecture != "amd64") {
    spec.error_at("architecture",
                  fmt::format("\"{}\" is not this host's architecture: the host is amd64 "
                              "(x86_64, the only one qmd runs); set amd64 or remove the field",
                              *architecture));
  }
}

}  // namespace qmd::policy::parse_parts
