// Each core configurator on a small spec: absent features add nothing; present ones give the
// whole expected option list.
#include <doctest/doctest.h>

#include "cmdline/core_configurators.hpp"
#include "policy/validate.hpp"

using namespace qmd::cmdline;
using qmd::policy::VmSpec;
using Lines = std::vector<std::string>;

namespace {

VmSpec base_spec() {
  VmSpec s;
  s.name = "vm1";
  s.domain.memory.guest = 1ULL << 30;
  s.domain.cpu.sockets = 1;
  s.domain.cpu.cores = 2;
  s.domain.cpu.threads = 1;
  return s;
}

Lines run(const Configurator& c, const VmSpec& s) {
  RenderResult r;
  c.configure(s, r);
  return r.argv.lines();
}

const VmPaths kPaths{"/run/qmd/vms/vm1", "/var/lib/qmd/vms/vm1"};

}  // namespace

TEST_CASE("base: the fixed options, QMP monitor and sandbox") {
  VmSpec s = base_spec();
  CHECK(run(BaseConfigurator(kPaths), s) ==
        Lines{"-name guest=vm1,debug-threads=on", "-S", "-nodefaults", "-no-user-config",
              "-msg timestamp=on",
              "-sandbox on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny",
              "-chardev socket,id=charmonitor,path=/run/qmd/vms/vm1/qmp.sock,server=on,wait=off",
              "-mon chardev=charmonitor,id=monitor,mode=control", "-display none",
              "-boot strict=on"});
  s.domain.firmware.uuid = "5d307ca9-b3ef-428c-8861-06e72d69f223";
  CHECK(run(BaseConfigurator(kPaths), s)[1] == "-uuid 5d307ca9-b3ef-428c-8861-06e72d69f223");
}

TEST_CASE("machine: no features adds only the type; features add their properties") {
  VmSpec s = base_spec();
  CHECK(run(MachineConfigurator(true, false), s) ==
        Lines{"-machine q35,usb=off,dump-guest-core=off", "-accel kvm"});
  s.domain.machine.type = "pc";
  s.domain.features.smm = qmd::policy::Toggle{true};
  s.domain.features.acpi = qmd::policy::Toggle{false};
  s.domain.clock.hpet = qmd::policy::Timer{false, {}, {}};
  s.domain.memory.hugepages_page_size = 2ULL << 20;
  CHECK(run(MachineConfigurator(false, true), s) ==
        Lines{"-machine pc,usb=off,dump-guest-core=off,smm=on,acpi=off,hpet=off,"
              "pflash0=pflash0,pflash1=pflash1,memory-backend=pc.ram",
              "-accel tcg"});
}

TEST_CASE("machine: kubevirt.io/disablePCIHole64 \"true\" closes the 64-bit PCI window") {
  VmSpec s = base_spec();
  s.annotations["kubevirt.io/disablePCIHole64"] = "true";
  CHECK(run(MachineConfigurator(true, false), s) ==
        Lines{"-machine q35,usb=off,dump-guest-core=off", "-accel kvm",
              "-global q35-pcihost.pci-hole64-size=0",
              "-fw_cfg name=opt/org.seabios/pci64,string=no"});
  s.domain.machine.type = "pc-i440fx-7.2";
  CHECK(run(MachineConfigurator(true, false), s) ==
        Lines{"-machine pc-i440fx-7.2,usb=off,dump-guest-core=off", "-accel kvm",
              "-global i440FX-pcihost.pci-hole64-size=0",
              "-fw_cfg name=opt/org.seabios/pci64,string=no"});
  // KubeVirt compares with "true" exactly: anything else leaves the window open.
  s.annotations["kubevirt.io/disablePCIHole64"] = "True";
  CHECK(run(MachineConfigurator(true, false), s) ==
        Lines{"-machine pc-i440fx-7.2,usb=off,dump-guest-core=off", "-accel kvm"});
}

TEST_CASE("cpu: model mapping, kvm hidden, kvmclock") {
  VmSpec s = base_spec();
  CHECK(run(CpuConfigurator(true, {}), s) == Lines{"-cpu host"});
  CHECK(run(CpuConfigurator(false, {}), s) == Lines{"-cpu max"});
  s.domain.cpu.model = "host-passthrough";
  s.domain.features.kvm_hidden = true;
  s.domain.clock.kvm = qmd::policy::Timer{false, {}, {}};
  CHECK(run(CpuConfigurator(true, {}), s) == Lines{"-cpu host,migratable=off,kvm=off,kvmclock=off"});
  s.domain.cpu.model = "Skylake-Server";
  s.domain.features.kvm_hidden.reset();
  s.domain.clock.kvm.reset();
  CHECK(run(CpuConfigurator(true, {}), s) == Lines{"-cpu Skylake-Server"});
}

TEST_CASE("cpu: pvspinlock is kvm-pv-unhalt; cpu.features are +flag / -flag by policy") {
  VmSpec s = base_spec();
  s.domain.features.pvspinlock = qmd::policy::Toggle{};
  CHECK(run(CpuConfigurator(true, {}), s) == Lines{"-cpu host,kvm-pv-unhalt=on"});
  s.domain.features.pvspinlock = qmd::policy::Toggle{false};
  s.domain.features.kvm_hidden = true;
  s.domain.cpu.features = {{"pcid", std::nullopt}, {"vmx", "force"},    {"svm", "optional"},
                           {"mpx", "disable"},     {"sgx", "forbid"},    {"x2apic", "require"}};
  CHECK(run(CpuConfigurator(true, {}), s) ==
        Lines{"-cpu host,kvm=off,kvm-pv-unhalt=off,+pcid,+vmx,+svm,-mpx,-sgx,+x2apic"});
  // check_host left out the optional flag the host lacks.
  CHECK(run(CpuConfigurator(true, {}, 0, {"svm"}), s) ==
        Lines{"-cpu host,kvm=off,kvm-pv-unhalt=off,+pcid,+vmx,-mpx,-sgx,+x2apic"});
}

TEST_CASE("cpu: the vmx that evmcs requires is +vmx after the hv- flags; dropped with evmcs") {
  VmSpec s = base_spec();
  s.domain.features.hyperv.emplace();
  s.domain.features.hyperv->vapic = qmd::policy::Toggle{};
  s.domain.features.hyperv->evmcs = qmd::policy::Toggle{};
  s = qmd::policy::apply_defaults(s);
  CHECK(run(CpuConfigurator(true, {}), s) == Lines{"-cpu host,hv-vapic,hv-evmcs,+vmx"});
  // check_host dropped evmcs (bestEffort) and with it the vmx the host lacks.
  CHECK(run(CpuConfigurator(true, {"hv-evmcs"}, 0, {"vmx"}), s) ==
        Lines{"-cpu host,hv-vapic"});
}

TEST_CASE("cpu: a forced invtsc pins the TSC like hv-frequencies; a disabled one does not") {
  VmSpec s = base_spec();
  s.domain.cpu.features = {{"invtsc", "force"}};
  CHECK(run(CpuConfigurator(true, {}, 2000000), s) ==
        Lines{"-cpu host,+invtsc,tsc-frequency=2000000000"});
  s.domain.cpu.features = {{"invtsc", "disable"}};
  CHECK(run(CpuConfigurator(true, {}, 2000000), s) == Lines{"-cpu host,-invtsc"});
}

TEST_CASE("cpu: a guest that reads the TSC frequency once gets it pinned under KVM") {
  VmSpec s = base_spec();
  qmd::policy::HypervFeatures h;
  h.frequencies = qmd::policy::Toggle{true};
  s.domain.features.hyperv = h;
  auto render = [&](const CpuConfigurator& c) {
    RenderResult r;
    c.configure(s, r);
    return r;
  };
  SUBCASE("known frequency under KVM: pinned, in Hz") {
    const auto r = render(CpuConfigurator(true, {}, 2000000));
    CHECK(r.argv.lines() == Lines{"-cpu host,hv-frequencies,tsc-frequency=2000000000"});
    CHECK(r.warnings.empty());
  }
  SUBCASE("hv-reenlightenment alone is enough") {
    s.domain.features.hyperv->frequencies.reset();
    s.domain.features.hyperv->reenlightenment = qmd::policy::Toggle{true};
    CHECK(render(CpuConfigurator(true, {}, 2400000)).argv.lines() ==
          Lines{"-cpu host,hv-reenlightenment,tsc-frequency=2400000000"});
  }
  SUBCASE("TCG: nothing to pin, nothing to warn about") {
    const auto r = render(CpuConfigurator(false, {}, 2000000));
    CHECK(r.argv.lines() == Lines{"-cpu max,hv-frequencies"});
    CHECK(r.warnings.empty());
  }
  SUBCASE("unknown frequency under KVM: not pinned, and a warning says it cannot migrate") {
    const auto r = render(CpuConfigurator(true, {}, 0));
    CHECK(r.argv.lines() == Lines{"-cpu host,hv-frequencies"});
    REQUIRE(r.warnings.size() == 1);
    CHECK(r.warnings[0].find("will not be migratable") != std::string::npos);
  }
  SUBCASE("dropped under bestEffort: nothing to pin") {
    const auto r = render(CpuConfigurator(true, {"hv-frequencies"}, 0));
    CHECK(r.argv.lines() == Lines{"-cpu host"});
    CHECK(r.warnings.empty());
  }
  SUBCASE("no TSC-sensitive feature: not pinned") {
    s.domain.features.hyperv->frequencies.reset();
    s.domain.features.hyperv->relaxed = qmd::policy::Toggle{true};
    CHECK(render(CpuConfigurator(true, {}, 2000000)).argv.lines() ==
          Lines{"-cpu host,hv-relaxed"});
  }
}

TEST_CASE("hyperv: no features adds no flags") {
  CHECK(hyperv_cpu_flags(base_spec(), {}).empty());
}

TEST_CASE("hyperv: every feature in dependency order, dropped ones left out") {
  VmSpec s = base_spec();
  qmd::policy::HypervFeatures h;
  const qmd::policy::Toggle on{true};
  h.relaxed = h.vapic = h.vpindex = h.runtime = h.synic = h.reset = h.frequencies =
      h.reenlightenment = h.ipi = h.evmcs = on;
  h.spinlocks = qmd::policy::Spinlocks{true, 8191};
  h.synictimer = qmd::policy::SyncTimer{true, on, true};
  h.vendorid = qmd::policy::VendorId{true, "KubeVirt"};
  h.tlbflush = qmd::policy::TlbFlush{true, true, on, true, on};
  s.domain.features.hyperv = h;
  s.domain.clock.hyperv = qmd::policy::Timer{};
  CHECK(hyperv_cpu_flags(s, {}) ==
        Lines{"hv-relaxed", "hv-vapic", "hv-spinlocks=0x1fff", "hv-vpindex", "hv-runtime",
              "hv-synic", "hv-time", "hv-stimer", "hv-stimer-direct", "hv-reset",
              "hv-vendor-id=KubeVirt", "hv-frequencies", "hv-reenlightenment", "hv-tlbflush",
              "hv-tlbflush-direct", "hv-tlbflush-ext", "hv-ipi", "hv-evmcs"});
  CHECK(hyperv_cpu_flags(s, {"hv-vpindex", "hv-synic", "hv-stimer", "hv-stimer-direct",
                             "hv-time", "hv-vapic", "hv-evmcs", "hv-reenlightenment",
                             "hv-tlbflush", "hv-tlbflush-direct", "hv-tlbflush-ext", "hv-ipi"}) ==
        Lines{"hv-relaxed", "hv-spinlocks=0x1fff", "hv-runtime", "hv-reset",
              "hv-vendor-id=KubeVirt", "hv-frequencies"});
  s.domain.features.hyperv->relaxed = qmd::policy::Toggle{false};
  CHECK(hyperv_cpu_flags(s, {})[0] == "hv-vapic");
}

TEST_CASE("hyperv: the hyperv timer alone gives hv-time; passthrough") {
  VmSpec s = base_spec();
  s.domain.clock.hyperv = qmd::policy::Timer{};
  CHECK(hyperv_cpu_flags(s, {}) == Lines{"hv-time"});
  s.domain.clock.hyperv.reset();
  s.domain.features.hyperv_passthrough = qmd::policy::Toggle{true};
  CHECK(hyperv_cpu_flags(s, {}) == Lines{"hv-passthrough"});
}

TEST_CASE("smp: topology, vCPU hotplug ceiling and the pinning plan") {
  VmSpec s = base_spec();
  RenderResult r;
  SmpConfigurator().configure(s, r);
  CHECK(r.argv.lines() == Lines{"-smp 2,sockets=1,cores=2,threads=1"});
  CHECK(r.pinning.vcpus == 2);
  CHECK_FALSE(r.pinning.dedicated);
  s.domain.cpu = {2, 4, 2, 4, {}, true, true, {}};
  RenderResult r2;
  SmpConfigurator().configure(s, r2);
  CHECK(r2.argv.lines() == Lines{"-smp 16,sockets=4,cores=4,threads=2,maxcpus=32"});
  CHECK(r2.pinning.dedicated);
  CHECK(r2.pinning.isolate_emulator_thread);
  CHECK(max_vcpus(s) == 32);
}

TEST_CASE("memory: plain, hugepages, virtio-mem ceiling") {
  VmSpec s = base_spec();
  CHECK(run(MemoryConfigurator(), s) == Lines{"-m size=1024M", "-overcommit mem-lock=off"});
  s.domain.memory.guest = 32ULL << 30;
  s.domain.memory.hugepages_page_size = 2ULL << 20;
  s.domain.memory.max_guest = 64ULL << 30;
  CHECK(run(MemoryConfigurator(), s) ==
        Lines{"-m size=32768M,maxmem=65536M",
              "-object memory-backend-file,id=pc.ram,size=32768M,mem-path=/dev/hugepages,"
              "prealloc=on",
              "-overcommit mem-lock=off"});
  s.domain.memory.hugepages_page_size = 1ULL << 30;
  CHECK(run(MemoryConfigurator(), s)[1].find("mem-path=/dev/hugepages1G,") != std::string::npos);
  CHECK(qemu_size(1536) == "1536");
}

TEST_CASE("firmware: bios adds nothing; efi gives pflash and a per-VM VARS copy") {
  VmSpec s = base_spec();
  const qmd::policy::OvmfImage img{"/usr/share/OVMF/OVMF_CODE_4M.ms.fd",
                                   "/usr/share/OVMF/OVMF_VARS_4M.ms.fd", true, true, true};
  RenderResult r;
  FirmwareConfigurator(img, kPaths).configure(s, r);
  CHECK(r.argv.lines().empty());
  CHECK(r.prepare.empty());

  s.domain.firmware.bootloader = qmd::policy::BootloaderKind::efi;
  s.domain.firmware.efi = {true, true};
  RenderResult e;
  FirmwareConfigurator(img, kPaths).configure(s, e);
  CHECK(e.argv.lines() ==
        Lines{R"(-blockdev {"driver":"file","filename":"/usr/share/OVMF/OVMF_CODE_4M.ms.fd","node-name":"pflash0-storage","auto-read-only":true,"discard":"unmap","read-only":true})",
              R"(-blockdev {"node-name":"pflash0","read-only":true,"driver":"raw","file":"pflash0-storage"})",
              R"(-blockdev {"driver":"file","filename":"/var/lib/qmd/vms/vm1/OVMF_VARS.fd","node-name":"pflash1-storage","auto-read-only":true,"discard":"unmap"})",
              R"(-blockdev {"node-name":"pflash1","read-only":false,"driver":"raw","file":"pflash1-storage"})",
              "-global driver=cfi.pflash01,property=secure,value=on"});
  // Only the copy: the directory is the VM's state dir, which the daemon makes (root's).
  REQUIRE(e.prepare.size() == 1);
  CHECK(e.prepare[0].kind == FilePrep::Kind::copy_if_missing);
  CHECK(e.prepare[0].source == "/usr/share/OVMF/OVMF_VARS_4M.ms.fd");
  CHECK(e.prepare[0].path == "/var/lib/qmd/vms/vm1/OVMF_VARS.fd");

  s.domain.firmware.efi = {false, false};
  RenderResult ne;
  FirmwareConfigurator(img, kPaths).configure(s, ne);
  CHECK(ne.argv.lines().size() == 4);  // no secure global
  REQUIRE(ne.prepare.size() == 1);
  CHECK(ne.prepare[0].path == "/run/qmd/vms/vm1/OVMF_VARS.fd");
}

TEST_CASE("firmware: direct kernel boot") {
  VmSpec s = base_spec();
  s.domain.firmware.kernel_boot =
      qmd::policy::KernelBoot{"/boot/vmlinuz", "/boot/initrd.img", "console=ttyS0 quiet"};
  CHECK(run(FirmwareConfigurator({}, kPaths), s) ==
        Lines{"-kernel /boot/vmlinuz", "-initrd /boot/initrd.img",
              "-append console=ttyS0 quiet"});
}

TEST_CASE("smbios: nothing set adds nothing; type 1 and 3 with escaping") {
  VmSpec s = base_spec();
  CHECK(run(SmbiosConfigurator(), s).empty());
  s.domain.firmware.serial = "SN-1";
  s.domain.firmware.smbios.manufacturer = "ACME, Inc.";
  s.domain.firmware.smbios.family = "Servers";
  s.domain.chassis.asset = "A42";
  CHECK(run(SmbiosConfigurator(), s) ==
        Lines{"-smbios type=1,manufacturer=ACME,, Inc.,serial=SN-1,family=Servers",
              "-smbios type=3,asset=A42"});
}

TEST_CASE("clock: utc by default; Windows timers; offsets and zones via TZ") {
  VmSpec s = base_spec();
  RenderResult r;
  ClockConfigurator(true).configure(s, r);
  CHECK(r.argv.lines() == Lines{"-rtc base=utc"});
  CHECK(r.env.empty());

  s.domain.clock.rtc = qmd::policy::Timer{{}, "catchup", "guest"};
  s.domain.clock.pit = qmd::policy::Timer{{}, "delay", {}};
  CHECK(run(ClockConfigurator(true), s) ==
        Lines{"-rtc base=utc,clock=vm,driftfix=slew", "-global kvm-pit.lost_tick_policy=delay"});
  // TCG has no in-kernel PIT to configure.
  CHECK(run(ClockConfigurator(false), s) == Lines{"-rtc base=utc,clock=vm,driftfix=slew"});

  VmSpec z = base_spec();
  z.domain.clock.timezone = "Europe/Berlin";
  RenderResult rz;
  ClockConfigurator(true).configure(z, rz);
  CHECK(rz.argv.lines() == Lines{"-rtc base=localtime"});
  CHECK(rz.env == Lines{"TZ=Europe/Berlin"});

  VmSpec o = base_spec();
  o.domain.clock.utc_offset_seconds = 5400;
  RenderResult ro;
  ClockConfigurator(true).configure(o, ro);
  CHECK(ro.env == Lines{"TZ=QMD-01:30:00"});
  CHECK(tz_for_offset(-3600) == "QMD+01:00:00");
}

TEST_CASE("launch security: none adds nothing; sev object") {
  VmSpec s = base_spec();
  CHECK(run(LaunchSecurityConfigurator(47), s).empty());
  s.domain.launch_security.kind = qmd::policy::LaunchSecurityKind::sev;
  CHECK(run(LaunchSecurityConfigurator(51), s) ==
        Lines{"-object sev-guest,id=lsec0,cbitpos=51,reduced-phys-bits=1,policy=0x1"});
}
