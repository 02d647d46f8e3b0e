// Everything qmd renders must start in the real QEMU: every example and a matrix of feature
// combinations go through parse -> presets -> render -> trial_start (TCG, -S, query-status,
// quit), two at a time. Volumes point at images made here with qemu-img.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <thread>

#include "cmdline/render.hpp"
#include "daemon/launch/child_process.hpp"
#include "daemon/trial/trial.hpp"
#include "policy/host_caps.hpp"
#include "policy/parse.hpp"
#include "policy/presets.hpp"
#include "policy/validate.hpp"
#include "tests/integration/support.hpp"

namespace {

namespace fs = std::filesystem;
using namespace qmd;
using std::chrono::milliseconds;

constexpr std::uint64_t kMi = 1ull << 20;
constexpr std::uint64_t kGi = 1ull << 30;

const policy::HostCaps& host() {
  static const policy::HostCaps caps = policy::probe_host();
  return caps;
}

struct Case {
  std::string name;
  policy::VmSpec spec;
  policy::RunPolicy::Hyperv hyperv = policy::RunPolicy::Hyperv::strict;
};

struct Outcome {
  std::string name;
  bool ok = false;
  std::string detail;  // status and warnings, or the error
};

// Host-local volumes -> fresh raw images under `dir` (the examples name /var/lib paths).
std::string use_test_images(policy::VmSpec& spec, const std::string& dir) {
  for (auto& volume : spec.volumes) {
    using Kind = policy::VolumeKind;
    if (volume.kind != Kind::host_disk && volume.kind != Kind::file && volume.kind != Kind::block) {
      continue;
    }
    const std::string image = fmt::format("{}/{}.img", dir, volume.name);
    auto made = qmd::daemon::run_to_completion(
        {"qemu-img", "create", "-q", "-f", "raw", image, std::to_string(64 * kMi)},
        dir + "/qemu-img.log", milliseconds{20000});
    if (!made) {
      return made.error();
    }
    volume.kind = Kind::host_disk;
    volume.path = image;
    volume.format.reset();
    volume.host_disk_type = "Disk";
    volume.capacity.reset();
  }
  return "";
}

Outcome run_case(const Case& c, const std::string& root) {
  Outcome out{c.name, false, ""};
  const std::string dir = root + "/" + c.name;
  fs::create_directories(dir + "/run");
  fs::create_directories(dir + "/disks");
  policy::VmSpec spec = c.spec;
  if (auto error = use_test_images(spec, dir + "/disks"); !error.empty()) {
    out.detail = "images: " + error;
    return out;
  }
  const cmdline::VmPaths paths{dir + "/run", dir + "/state"};
  policy::RunPolicy run_policy;
  run_policy.use_emulation = true;
  run_policy.hyperv = c.hyperv;
  run_policy.state_dir = paths.state_dir;
  auto rendered = cmdline::render(spec, host(), paths, run_policy);
  if (!rendered) {
    out.detail = "render: " + policy::to_string(rendered.error());
    return out;
  }
  const auto result = trial::trial_start(*rendered, paths, std::chrono::seconds{60});
  out.ok = result.ok && result.status == "prelaunch";
  out.detail = result.ok ? fmt::format("status {}, {} options, {} sidecars, {} files prepared",
                                       result.status, rendered->argv.options().size(),
                                       rendered->sidecars.size(), rendered->prepare.size())
                         : result.error;
  for (const auto& warning : rendered->warnings) {
    out.detail += "\n    warning: " + warning;
  }
  return out;
}

// Two trials at a time (the CI machines have 2 cores); results come back in case order.
std::vector<Outcome> run_all(const std::vector<Case>& cases, const std::string& root) {
  host();  // probe once, before the threads
  std::vector<Outcome> outcomes(cases.size());
  std::atomic<std::size_t> next{0};
  std::mutex print;
  auto worker = [&] {
    for (std::size_t i = next++; i < cases.size(); i = next++) {
      outcomes[i] = run_case(cases[i], root);
      std::lock_guard lock(print);
      std::printf("trial %-28s %s: %s\n", cases[i].name.c_str(), outcomes[i].ok ? "ok" : "FAILED",
                  outcomes[i].detail.c_str());
      std::fflush(stdout);
    }
  };
  std::thread a(worker), b(worker);
  a.join();
  b.join();
  return outcomes;
}

void check_all_ok(const std::vector<Outcome>& outcomes) {
  for (const auto& outcome : outcomes) {
    INFO(outcome.name, ": ", outcome.detail);
    CHECK(outcome.ok);
  }
}

void check_nothing_left(const itest::TempDir& dir) {
  CHECK(itest::children_of_self() == std::vector<std::string>{});
  CHECK(itest::processes_mentioning(dir.path()) == std::vector<std::string>{});
  CHECK(itest::sockets_under(dir.path()) == std::vector<std::string>{});
}

policy::VmSpec load_example(const std::string& file) {
  auto parsed = policy::parse_spec_file(file);
  REQUIRE_MESSAGE(parsed.has_value(), policy::to_string(parsed.error()));
  static const auto catalog = policy::PresetCatalog::load();
  REQUIRE_MESSAGE(catalog.has_value(), policy::to_string(catalog.error()));
  auto spec = policy::apply_presets(*parsed, *catalog);
  REQUIRE_MESSAGE(spec.has_value(), policy::to_string(spec.error()));
  return *spec;
}

std::vector<std::string> example_files() {
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(QMD_SOURCE_DIR "/examples")) {
    if (entry.path().extension() == ".yaml") {
      files.push_back(entry.path().string());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

// The smallest VM the matrix starts from: 256Mi, one virtio disk, no graphics.
policy::VmSpec base_spec() {
  static const std::string text = R"(apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata:
  name: matrix
spec:
  domain:
    memory:
      guest: 256Mi
    devices:
      autoattachGraphicsDevice: false
      disks:
      - name: root
        disk:
          bus: virtio
  volumes:
  - name: root
    hostDisk:
      path: /nonexistent/replaced-by-the-test.img
      type: Disk
)";
  auto spec = policy::parse_spec(text, "matrix.yaml");
  REQUIRE_MESSAGE(spec.has_value(), policy::to_string(spec.error()));
  return *spec;
}

void add_disk(policy::VmSpec& spec, const std::string& name, policy::DiskKind kind,
              const std::string& bus) {
  policy::DiskDevice disk;
  disk.name = name;
  disk.kind = kind;
  disk.bus = bus;
  spec.domain.devices.disks.push_back(disk);
  policy::Volume volume;
  volume.name = name;
  volume.kind = policy::VolumeKind::host_disk;
  volume.path = "/nonexistent/" + name + ".img";
  volume.host_disk_type = "Disk";
  spec.volumes.push_back(volume);
}

void add_nic(policy::VmSpec& spec, const std::string& model, const std::string& binding) {
  policy::InterfaceDevice nic;
  nic.name = "default";
  nic.model = model;
  nic.binding = binding;
  spec.domain.devices.interfaces.push_back(nic);
  policy::Network pod;
  pod.name = "default";
  pod.kind = policy::NetworkKind::pod;
  spec.networks.push_back(pod);
}

void use_efi(policy::VmSpec& spec, bool secure, bool persistent) {
  spec.domain.firmware.bootloader = policy::BootloaderKind::efi;
  spec.domain.firmware.efi.secure_boot = secure;
  spec.domain.firmware.efi.persistent = persistent;
  if (secure) {
    spec.domain.features.smm = policy::Toggle{true};
  }
}

void use_video(policy::VmSpec& spec, const std::string& type) {
  spec.domain.devices.autoattach_graphics_device = true;
  spec.domain.devices.video_type = type;
}

// A file QEMU's x86 loader takes for a Linux bzImage (boot protocol 2.06 header): -S never
// runs it, so the header is all it reads.
void write_fake_kernel(const std::string& kernel, const std::string& initrd) {
  std::string image(256 * 1024, '\0');
  auto put16 = [&](std::size_t at, unsigned v) {
    image[at] = static_cast<char>(v & 0xff);
    image[at + 1] = static_cast<char>(v >> 8);
  };
  image[0x1f1] = 4;  // setup sectors
  put16(0x1fe, 0xaa55);
  image.replace(0x202, 4, "HdrS");
  put16(0x206, 0x0206);  // protocol version
  image[0x211] = 0x01;   // LOADED_HIGH
  put16(0x22c, 0xffff);  // initrd_addr_max 0x37ffffff
  put16(0x22e, 0x37ff);
  put16(0x238, 2048);  // cmdline_size
  std::ofstream(kernel, std::ios::binary) << image;
  std::ofstream(initrd, std::ios::binary) << std::string(4096, '\0');
}

using Mutate = std::function<void(policy::VmSpec&)>;

// The cases QEMU must accept, one short entry each (name, preset, change): a list by design,
// read top to bottom, so it stays one function.
std::vector<Case> matrix(const std::string& root) {
  using policy::DiskKind;
  using policy::Toggle;
  const auto on = Toggle{true};
  std::vector<std::pair<std::string, Mutate>> variants = {
      {"bios", [](auto& s) { s.domain.firmware.bootloader = policy::BootloaderKind::bios; }},
      {"efi", [](auto& s) { use_efi(s, false, false); }},
      {"efi-secureboot", [](auto& s) { use_efi(s, true, false); }},
      {"efi-secureboot-persistent", [](auto& s) { use_efi(s, true, true); }},
      {"tpm-persistent",
       [](auto& s) {
         s.domain.devices.tpm = policy::TpmDevice{true, true};
       }},
      {"tpm-ephemeral",
       [](auto& s) {
         s.domain.devices.tpm = policy::TpmDevice{std::nullopt, std::nullopt};
       }},
      {"efi-secureboot-tpm",
       [](auto& s) {
         use_efi(s, true, true);
         s.domain.devices.tpm = policy::TpmDevice{true, true};
       }},
      {"machine-q35", [](auto& s) { s.domain.machine.type = "q35"; }},
      {"machine-pc", [](auto& s) { s.domain.machine.type = "pc"; }},
      {"disk-sata", [](auto& s) { s.domain.devices.disks[0].bus = "sata"; }},
      {"disk-scsi", [](auto& s) { s.domain.devices.disks[0].bus = "scsi"; }},
      {"disk-usb", [](auto& s) { s.domain.devices.disks[0].bus = "usb"; }},
      {"cdrom-sata", [](auto& s) { add_disk(s, "cd", DiskKind::cdrom, "sata"); }},
      {"cdrom-scsi", [](auto& s) { add_disk(s, "cd", DiskKind::cdrom, "scsi"); }},
      {"disk-cache-io",
       [](auto& s) {
         s.domain.devices.disks[0].cache = "none";
         s.domain.devices.disks[0].io = "native";
       }},
      {"disk-io-native-no-cache",
       [](auto& s) { s.domain.devices.disks[0].io = "native"; }},
      {"disk-writethrough", [](auto& s) { s.domain.devices.disks[0].cache = "writethrough"; }},
      {"nic-virtio-user", [](auto& s) { add_nic(s, "virtio", "user"); }},
      {"nic-e1000e-user", [](auto& s) { add_nic(s, "e1000e", "user"); }},
      {"nic-e1000-user", [](auto& s) { add_nic(s, "e1000", "user"); }},
      {"nic-virtio-masquerade", [](auto& s) { add_nic(s, "virtio", "masquerade"); }},
      {"multiqueue",
       [](auto& s) {
         s.domain.cpu.cores = 2;
         s.domain.devices.network_interface_multiqueue = true;
         s.domain.devices.block_multi_queue = true;
         add_nic(s, "virtio", "user");
       }},
      {"iothreads-auto",
       [](auto& s) {
         s.domain.io_threads_policy = "auto";
         add_disk(s, "data", DiskKind::disk, "virtio");
       }},
      {"iothreads-shared",
       [](auto& s) {
         s.domain.io_threads_policy = "shared";
         add_disk(s, "data", DiskKind::disk, "virtio");
       }},
      {"iothreads-dedicated",
       [](auto& s) { s.domain.devices.disks[0].dedicated_io_thread = true; }},
      {"virtio-mem",
       [](auto& s) {
         s.domain.memory.guest = 512 * kMi;
         s.domain.memory.max_guest = 2 * kGi;
       }},
      {"vcpu-hotplug",
       [](auto& s) {
         s.domain.cpu.sockets = 1;
         s.domain.cpu.max_sockets = 4;
       }},
      {"kernel-boot",
       [root](auto& s) {
         s.domain.firmware.kernel_boot =
             policy::KernelBoot{root + "/vmlinuz", root + "/initrd", "console=ttyS0"};
       }},
      {"inputs-usb",
       [](auto& s) {
         s.domain.devices.inputs = {{"tablet", "tablet", "usb"}, {"keyboard", "keyboard", "usb"}};
       }},
      {"inputs-virtio",
       [](auto& s) {
         s.domain.devices.inputs = {{"tablet", "tablet", "virtio"},
                                    {"keyboard", "keyboard", "virtio"}};
       }},
      {"watchdog",
       [](auto& s) {
         s.domain.devices.watchdog = policy::WatchdogDevice{"wd", "i6300esb", "reset"};
       }},
      {"rng", [](auto& s) { s.domain.devices.rng = true; }},
      {"no-autoattach",
       [](auto& s) {
         auto& d = s.domain.devices;
         d.autoattach_serial_console = false;
         d.autoattach_graphics_device = false;
         d.autoattach_mem_balloon = false;
         d.autoattach_pod_interface = false;
         d.autoattach_input_device = false;
       }},
      {"clock-localtime-timers",
       [](auto& s) {
         s.domain.clock.timezone = "localtime";
         s.domain.clock.rtc = policy::Timer{std::nullopt, "catchup", std::nullopt};
         s.domain.clock.pit = policy::Timer{std::nullopt, "delay", std::nullopt};
         s.domain.clock.hpet = policy::Timer{false, std::nullopt, std::nullopt};
       }},
      {"video-virtio", [](auto& s) { use_video(s, "virtio"); }},
      {"video-bochs", [](auto& s) { use_video(s, "bochs"); }},
      {"video-ramfb", [](auto& s) { use_video(s, "ramfb"); }},
      {"video-ramfb-pc",
       [](auto& s) {
         use_video(s, "ramfb");
         s.domain.machine.type = "pc";
       }},
      {"pvspinlock-kvm-hidden-cpu-features",
       [](auto& s) {
         s.domain.features.pvspinlock = policy::Toggle{true};
         s.domain.features.kvm_hidden = true;
         s.domain.cpu.features = {{"lahf_lm", std::nullopt}, {"sse4.1", "force"},
                                  {"pni", "optional"},       {"pcid", "disable"},
                                  {"mpx", "forbid"}};
       }},
      {"pvspinlock-off", [](auto& s) { s.domain.features.pvspinlock = policy::Toggle{false}; }},
      {"hyperv-tcg-safe",
       [on](auto& s) {
         policy::HypervFeatures hv;
         hv.relaxed = hv.vapic = hv.runtime = hv.reset = hv.frequencies = on;
         hv.spinlocks = policy::Spinlocks{true, 8191};
         hv.vendorid = policy::VendorId{true, "KubeVirt"};
         s.domain.features.hyperv = hv;
       }},
  };
  std::vector<Case> cases;
  for (auto& [name, mutate] : variants) {
    Case c{name, base_spec()};
    c.spec.name = "m-" + name;
    mutate(c.spec);
    cases.push_back(std::move(c));
  }
  // Everything KubeVirt's Windows guide turns on; TCG cannot give all of it (QEMU 7.2 refuses
  // hv-vpindex without KVM), so best effort must drop what it cannot and still start.
  Case all{"hyperv-all-best-effort", base_spec(), policy::RunPolicy::Hyperv::best_effort};
  all.spec.name = "m-hyperv-all";
  policy::HypervFeatures hv;
  hv.relaxed = hv.vapic = hv.vpindex = hv.runtime = hv.synic = hv.reset = hv.frequencies =
      hv.reenlightenment = hv.ipi = on;
  hv.spinlocks = policy::Spinlocks{true, 8191};
  hv.synictimer = policy::SyncTimer{true, on, true};
  hv.vendorid = policy::VendorId{true, "KubeVirt"};
  hv.tlbflush = policy::TlbFlush{true, false, {}, false, {}};
  all.spec.domain.features.hyperv = hv;
  all.spec.domain.clock.hyperv = policy::Timer{true, std::nullopt, std::nullopt};
  cases.push_back(std::move(all));
  return cases;
}

}  // namespace

TEST_CASE("every example starts in QEMU under emulation; too-big ones are lowered first") {
  itest::TempDir dir("ex");
  std::vector<Case> cases;
  for (const auto& file : example_files()) {
    policy::VmSpec spec = load_example(file);
    policy::RunPolicy run_policy;
    run_policy.use_emulation = true;
    run_policy.hyperv = policy::RunPolicy::Hyperv::best_effort;
    const auto check = policy::check_host(policy::apply_defaults(spec), host(), run_policy);
    const std::string name = fs::path(file).stem().string();
    if (!check.errors.empty()) {
      // Only hugepages and memory may be what this host lacks; the variant lowers exactly
      // those (and what follows from the machine size: dedicated CPUs, host-passthrough).
      MESSAGE(name, " does not fit this host:\n", policy::to_string(check.errors));
      auto names = [&](const std::string& field) {
        return std::any_of(check.errors.begin(), check.errors.end(),
                           [&](const auto& e) { return e.path.ends_with(field); });
      };
      CHECK(names("domain.memory.hugepages.pageSize"));
      CHECK(names("domain.memory.guest"));
      auto& domain = spec.domain;
      domain.memory.hugepages_page_size.reset();
      domain.memory.guest = 1 * kGi;
      domain.cpu.dedicated_cpu_placement.reset();
      domain.cpu.isolate_emulator_thread.reset();
      if (domain.cpu.model == "host-passthrough" || domain.cpu.model == "host-model") {
        domain.cpu.model.reset();
      }
      const auto lowered = policy::check_host(policy::apply_defaults(spec), host(), run_policy);
      INFO(policy::to_string(lowered.errors));
      CHECK(lowered.errors.empty());
    }
    cases.push_back(Case{name, spec, policy::RunPolicy::Hyperv::best_effort});
  }
  REQUIRE(cases.size() >= 4);
  check_all_ok(run_all(cases, dir.path()));
  check_nothing_left(dir);
}

TEST_CASE("a matrix of feature combinations starts in QEMU under emulation") {
  itest::TempDir dir("mx");
  write_fake_kernel(dir.path() + "/vmlinuz", dir.path() + "/initrd");
  const auto cases = matrix(dir.path());
  check_all_ok(run_all(cases, dir.path()));
  check_nothing_left(dir);
}
