#include <doctest/doctest.h>
#include <fmt/format.h>

#include "policy/validate.hpp"

using namespace qmd::policy;

namespace {
// A network entry: pod, or multus onto `bridge`.
Network network(std::string name, NetworkKind kind, std::string bridge = {}) {
  Network n;
  n.name = std::move(name);
  n.kind = kind;
  n.multus_network_name = std::move(bridge);
  return n;
}


constexpr std::uint64_t kGi = 1024ull * 1024 * 1024;

template <typename T>
std::string opt(const std::optional<T>& v) {
  return v ? fmt::format("{}", *v) : "-";
}

// The fields apply_defaults touches, in one line, so whole values can be compared.
std::string summary(const VmSpec& s) {
  const auto& d = s.domain;
  std::string out = fmt::format(
      "machine={} cpu={}/{}/{} mem={} boot={} sb={} persist={} utc={} tz={}", opt(d.machine.type),
      opt(d.cpu.sockets), opt(d.cpu.cores), opt(d.cpu.threads), opt(d.memory.guest),
      static_cast<int>(d.firmware.bootloader), opt(d.firmware.efi.secure_boot),
      opt(d.firmware.efi.persistent), d.clock.utc_set, opt(d.clock.timezone));
  out +=
      fmt::format(" auto={}/{}/{}/{}/{}", opt(d.devices.autoattach_serial_console),
                  opt(d.devices.autoattach_graphics_device), opt(d.devices.autoattach_mem_balloon),
                  opt(d.devices.autoattach_input_device), opt(d.devices.autoattach_pod_interface));
  for (const auto& disk : d.devices.disks) {
    out += fmt::format(" disk:{}:{}:{}", disk.name, opt(disk.bus), opt(disk.readonly));
  }
  for (const auto& nic : d.devices.interfaces) {
    out += fmt::format(" nic:{}:{}:{}", nic.name, opt(nic.model), nic.binding);
  }
  for (const auto& net : s.networks) {
    out += fmt::format(" net:{}:{}", net.name, static_cast<int>(net.kind));
  }
  for (const auto& in : d.devices.inputs) {
    out += fmt::format(" input:{}:{}", in.name, opt(in.bus));
  }
  if (d.devices.watchdog) {
    out += fmt::format(" watchdog:{}", opt(d.devices.watchdog->action));
  }
  if (d.devices.tpm) {
    out += fmt::format(" tpm:{}:{}", opt(d.devices.tpm->enabled), opt(d.devices.tpm->persistent));
  }
  return out;
}

}  // namespace

TEST_CASE("defaults add no devices, features or timers the spec does not ask for") {
  VmSpec in;
  in.domain.devices.autoattach_pod_interface = false;
  const auto s = apply_defaults(in);
  CHECK(summary(s) ==
        "machine=q35 cpu=1/1/1 mem=- boot=1 sb=- persist=- utc=true tz=- auto=true/true/true/"
        "false/false");
  CHECK_FALSE(s.domain.features.hyperv);
  CHECK_FALSE(s.domain.features.smm);
  CHECK_FALSE(s.domain.clock.hpet);
  CHECK_FALSE(s.domain.clock.hyperv);
  CHECK_FALSE(s.domain.io_threads_policy);  // unset means shared
  CHECK_FALSE(s.domain.devices.rng);
}

TEST_CASE("an empty spec gets a pod network with a masquerade interface named default") {
  CHECK(summary(apply_defaults(VmSpec{})) ==
        "machine=q35 cpu=1/1/1 mem=- boot=1 sb=- persist=- utc=true tz=- auto=true/true/true/"
        "false/true nic:default:virtio:masquerade net:default:0");
}

TEST_CASE("no default network when the spec has interfaces or networks of its own") {
  VmSpec in;
  in.networks.push_back(network("lan", NetworkKind::multus, "br0"));
  CHECK(apply_defaults(in).domain.devices.interfaces.empty());
}

TEST_CASE("cpu topology comes from the cpu limit or request, rounded up, as cores") {
  VmSpec in;
  in.domain.resources.requests.cpu = 1.5;
  CHECK(summary(apply_defaults(in)).starts_with("machine=q35 cpu=1/2/1 "));
  in.domain.resources.limits.cpu = 3;
  CHECK(summary(apply_defaults(in)).starts_with("machine=q35 cpu=1/3/1 "));
}

TEST_CASE("a partial topology keeps what is set and fills the rest with 1") {
  VmSpec in;
  in.domain.cpu.cores = 4;
  in.domain.resources.requests.cpu = 8;  // ignored: the spec has a topology
  CHECK(summary(apply_defaults(in)).starts_with("machine=q35 cpu=1/4/1 "));
}

TEST_CASE("guest memory comes from the memory request, else the limit") {
  VmSpec in;
  in.domain.resources.limits.memory = 2 * kGi;
  CHECK(apply_defaults(in).domain.memory.guest == 2 * kGi);
  in.domain.resources.requests.memory = kGi;
  CHECK(apply_defaults(in).domain.memory.guest == kGi);
  in.domain.memory.guest = 4 * kGi;
  CHECK(apply_defaults(in).domain.memory.guest == 4 * kGi);
}

TEST_CASE("efi defaults to secure boot with fresh variables; a set machine type stays") {
  VmSpec in;
  in.domain.firmware.bootloader = BootloaderKind::efi;
  in.domain.machine.type = "pc-q35-7.2";
  in.domain.clock.timezone = "Europe/Berlin";
  in.domain.devices.autoattach_pod_interface = false;
  CHECK(summary(apply_defaults(in)) ==
        "machine=pc-q35-7.2 cpu=1/1/1 mem=- boot=2 sb=true persist=false utc=false "
        "tz=Europe/Berlin auto=true/true/true/false/false");
  in.domain.firmware.efi.secure_boot = false;
  CHECK(apply_defaults(in).domain.firmware.efi.secure_boot == false);
}

TEST_CASE("disk buses by kind, cdroms read-only, devices get their defaults") {
  VmSpec in;
  in.domain.devices.autoattach_pod_interface = false;
  for (auto kind : {DiskKind::disk, DiskKind::cdrom, DiskKind::lun}) {
    DiskDevice d;
    d.name = fmt::format("d{}", static_cast<int>(kind));
    d.kind = kind;
    in.domain.devices.disks.push_back(d);
  }
  DiskDevice sata;
  sata.name = "s";
  sata.bus = "sata";
  in.domain.devices.disks.push_back(sata);
  in.domain.devices.inputs.push_back(InputDevice{"tablet", "tablet", std::nullopt});
  in.domain.devices.watchdog = WatchdogDevice{"w", "i6300esb", std::nullopt};
  in.domain.devices.tpm = TpmDevice{};
  CHECK(summary(apply_defaults(in)) ==
        "machine=q35 cpu=1/1/1 mem=- boot=1 sb=- persist=- utc=true tz=- auto=true/true/true/"
        "false/false disk:d0:virtio:- disk:d1:sata:true disk:d2:scsi:- disk:s:sata:- "
        "input:tablet:usb watchdog:reset tpm:true:false");
}

TEST_CASE("present toggles are enabled; spinlocks get 4096 retries; timers are present") {
  VmSpec in;
  auto& hv = in.domain.features.hyperv.emplace();
  hv.relaxed = Toggle{};
  hv.vapic = Toggle{false};
  hv.spinlocks = Spinlocks{};
  hv.synictimer = SyncTimer{.enabled = std::nullopt, .direct = {}, .direct_set = true};
  hv.tlbflush = TlbFlush{.enabled = std::nullopt,
                         .direct_set = false,
                         .direct = {},
                         .extended_set = true,
                         .extended = {}};
  in.domain.features.smm = Toggle{};
  in.domain.clock.rtc = Timer{};
  const auto out = apply_defaults(in);
  const auto& h = *out.domain.features.hyperv;
  CHECK(h.relaxed->enabled == true);
  CHECK(h.vapic->enabled == false);
  CHECK(h.spinlocks->enabled == true);
  CHECK(h.spinlocks->retries == 4096u);
  CHECK(h.synictimer->enabled == true);
  CHECK(h.synictimer->direct.enabled == true);
  CHECK(h.tlbflush->extended.enabled == true);
  CHECK_FALSE(h.tlbflush->direct.enabled);
  CHECK(out.domain.features.smm->enabled == true);
  CHECK(out.domain.clock.rtc->present == true);

  hv.spinlocks = Spinlocks{.enabled = false, .retries = std::nullopt};
  CHECK_FALSE(apply_defaults(in).domain.features.hyperv->spinlocks->retries);
}

TEST_CASE("applying defaults twice changes nothing") {
  VmSpec in;
  in.domain.resources.requests.cpu = 2;
  in.domain.resources.requests.memory = kGi;
  in.domain.firmware.bootloader = BootloaderKind::efi;
  DiskDevice cd;
  cd.name = "cd";
  cd.kind = DiskKind::cdrom;
  in.domain.devices.disks.push_back(cd);
  in.domain.devices.tpm = TpmDevice{};
  in.domain.features.hyperv.emplace().spinlocks = Spinlocks{};
  const auto once = apply_defaults(in);
  const auto twice = apply_defaults(once);
  CHECK(summary(twice) == summary(once));
  CHECK(twice.domain.features.hyperv->spinlocks->retries ==
        once.domain.features.hyperv->spinlocks->retries);
  CHECK(twice.networks.size() == 1);
}
