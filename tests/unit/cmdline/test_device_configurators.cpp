#include <doctest/doctest.h>
#include <fmt/format.h>

#include "cmdline/device_configurators.hpp"
#include "cmdline/devices_layout.hpp"
#include "cmdline/devices_params.hpp"
#include "devices/naming.hpp"

using namespace qmd;
using cmdline::DeviceFacts;
using cmdline::RenderResult;
using cmdline::VmPaths;

namespace {

const VmPaths paths{"/run/qmd/vms/t", "/var/lib/qmd/vms/t"};

// Everything KubeVirt would attach on its own switched off.
policy::VmSpec bare_spec() {
  policy::VmSpec s;
  s.name = "t";
  auto& d = s.domain.devices;
  d.autoattach_serial_console = false;
  d.autoattach_graphics_device = false;
  d.autoattach_mem_balloon = false;
  d.autoattach_input_device = false;
  d.autoattach_pod_interface = false;
  return s;
}

DeviceFacts facts(std::uint32_t spare = 0) {
  DeviceFacts f;
  f.hotplug_ports = spare;
  f.vcpus = 4;
  return f;
}

template <typename C>
RenderResult run(const policy::VmSpec& spec, const DeviceFacts& f = facts()) {
  RenderResult out;
  C(f, paths).configure(spec, out);
  return out;
}

RenderResult run_all(const policy::VmSpec& spec, const DeviceFacts& f) {
  RenderResult out;
  for (const auto& c : cmdline::device_configurators(f, paths)) {
    c->configure(spec, out);
  }
  return out;
}

std::string port(int n, const std::string& addr, bool multifunction) {
  return "-device pcie-root-port,id=pci." + std::to_string(n) + ",chassis=" + std::to_string(n) +
         ",port=0x" + fmt::format("{:x}", 0x10 + n - 1) + ",bus=pcie.0," +
         (multifunction ? "multifunction=on," : "") + "addr=" + addr;
}

policy::DiskDevice disk(const std::string& name, std::optional<std::string> bus) {
  policy::DiskDevice d;
  d.name = name;
  d.bus = std::move(bus);
  return d;
}

policy::Volume file_volume(const std::string& name, const std::string& format = "raw") {
  policy::Volume v;
  v.name = name;
  v.kind = policy::VolumeKind::file;
  v.path = "/vms/" + name + ".img";
  v.format = format;
  return v;
}

}  // namespace

TEST_CASE("a bare spec adds nothing but the agent channel and its bus") {
  const auto spec = bare_spec();
  for (const auto& out :
       {run<cmdline::DisksConfigurator>(spec), run<cmdline::NicsConfigurator>(spec),
        run<cmdline::InputsConfigurator>(spec), run<cmdline::GraphicsConfigurator>(spec),
        run<cmdline::MiscDevicesConfigurator>(spec), run<cmdline::TpmConfigurator>(spec),
        run<cmdline::VirtioMemConfigurator>(spec)}) {
    CHECK(out.argv.options().empty());
    CHECK(out.sidecars.empty());
    CHECK(out.prepare.empty());
    CHECK(out.warnings.empty());
  }
  CHECK(run_all(spec, facts()).argv.lines() ==
        std::vector<std::string>{
            port(1, "0x2", true), "-device virtio-serial-pci,id=virtio-serial0,bus=pci.1,addr=0x0",
            "-chardev socket,id=charchannel0,path=/run/qmd/vms/t/qga.sock,server=on,wait=off",
            "-device virtserialport,id=channel0,bus=virtio-serial0.0,nr=1,chardev=charchannel0,"
            "name=org.qemu.guest_agent.0"});
}

TEST_CASE("KubeVirt's autoattached devices on q35, with spare hotplug ports") {
  auto spec = bare_spec();
  auto& d = spec.domain.devices;
  d.autoattach_serial_console = std::nullopt;  // unset means attached, as in KubeVirt
  d.autoattach_graphics_device = std::nullopt;
  d.autoattach_mem_balloon = std::nullopt;
  d.autoattach_pod_interface = std::nullopt;
  d.disks = {disk("root", std::nullopt)};
  spec.volumes = {file_volume("root", "qcow2")};
  const auto mac = devices::stable_mac("t", "default");
  CHECK(
      run_all(spec, facts(2)).argv.lines() ==
      std::vector<std::string>{
          port(1, "0x2", true),
          port(2, "0x2.0x1", false),
          port(3, "0x2.0x2", false),
          port(4, "0x2.0x3", false),
          port(5, "0x2.0x4", false),
          port(6, "0x2.0x5", false),
          "-object iothread,id=iothread-shared",
          "-device virtio-serial-pci,id=virtio-serial0,bus=pci.1,addr=0x0",
          R"(-blockdev {"driver":"file","filename":"/vms/root.img","node-name":"file-root",)"
          R"("read-only":false,"auto-read-only":true,"discard":"unmap"})",
          R"(-blockdev {"driver":"qcow2","file":"file-root","node-name":"fmt-root",)"
          R"("read-only":false,"discard":"unmap","backing":null})",
          "-device virtio-blk-pci,id=disk-root,bus=pci.3,addr=0x0,drive=fmt-root,"
          "iothread=iothread-shared",
          "-netdev user,id=net-default",
          "-device virtio-net-pci,id=nic-default,bus=pci.2,addr=0x0,netdev=net-default,mac=" + mac,
          "-chardev socket,id=charserial0,path=/run/qmd/vms/t/console.sock,server=on,wait=off",
          "-device isa-serial,id=serial0,chardev=charserial0",
          "-chardev socket,id=charchannel0,path=/run/qmd/vms/t/qga.sock,server=on,wait=off",
          "-device virtserialport,id=channel0,bus=virtio-serial0.0,nr=1,chardev=charchannel0,"
          "name=org.qemu.guest_agent.0",
          "-device VGA,id=video0,bus=pcie.0,addr=0x1",
          "-vnc unix:/run/qmd/vms/t/vnc.sock",
          "-device virtio-balloon-pci,id=balloon0,bus=pci.4,addr=0x0,free-page-reporting=on"});
}

TEST_CASE("NICs are placed before disks, so adding a disk never moves a NIC") {
  auto spec = bare_spec();
  policy::InterfaceDevice nic;
  nic.name = "lan";
  nic.binding = "user";
  spec.domain.devices.interfaces = {nic};
  const auto before = cmdline::layout_devices(spec, facts());
  spec.domain.devices.disks = {disk("a", "virtio"), disk("b", "virtio")};
  const auto after = cmdline::layout_devices(spec, facts());
  CHECK(before.nics.at("lan") == after.nics.at("lan"));
  CHECK(after.disks.at("a") == devices::PciSlot{"pci.3", "0x0"});
  CHECK(after.disks.at("b") == devices::PciSlot{"pci.4", "0x0"});
}

TEST_CASE("disks: controllers, units, iothreads, queues, prepared images") {
  auto spec = bare_spec();
  spec.domain.io_threads_policy = "auto";
  auto& d = spec.domain.devices;
  d.block_multi_queue = true;
  auto cd = disk("iso", std::nullopt);
  cd.kind = policy::DiskKind::cdrom;
  auto lun = disk("db", std::nullopt);
  lun.kind = policy::DiskKind::lun;
  d.disks = {disk("root", "virtio"), cd, disk("sata1", "sata"), lun, disk("gone", "virtio")};
  policy::Volume host;
  host.name = "root";
  host.kind = policy::VolumeKind::host_disk;
  host.path = "/vms/root.raw";
  host.host_disk_type = "DiskOrCreate";
  host.capacity = 1 << 30;
  spec.volumes = {host, file_volume("iso"), file_volume("sata1"), file_volume("db")};

  const auto controllers = run<cmdline::PciControllersConfigurator>(spec);
  CHECK(controllers.argv.lines() ==
        std::vector<std::string>{
            port(1, "0x2", true), port(2, "0x2.0x1", false), port(3, "0x2.0x2", false),
            port(4, "0x2.0x3", false),
            "-object iothread,id=iothread-shared",  // for scsi0
            "-object iothread,id=iothread-root", "-object iothread,id=iothread-gone",
            "-device virtio-serial-pci,id=virtio-serial0,bus=pci.1,addr=0x0",
            "-device virtio-scsi-pci,id=scsi0,bus=pci.2,addr=0x0,iothread=iothread-shared"});

  const auto out = run<cmdline::DisksConfigurator>(spec);
  std::vector<std::string> devices;
  for (const auto& o : out.argv.options()) {
    if (o.flag == "-device") {
      devices.push_back(*o.value);
    }
  }
  CHECK(devices == std::vector<std::string>{
                       "virtio-blk-pci,id=disk-root,bus=pci.3,addr=0x0,drive=fmt-root,"
                       "iothread=iothread-root,num-queues=4",
                       "ide-cd,id=disk-iso,bus=ide.0,drive=fmt-iso",
                       "ide-hd,id=disk-sata1,bus=ide.1,drive=fmt-sata1",
                       "scsi-hd,id=disk-db,bus=scsi0.0,channel=0,scsi-id=0,lun=0,drive=fmt-db"});
  CHECK(out.argv.options()[3].value ==
        R"({"driver":"file","filename":"/vms/iso.img","node-name":"file-iso","read-only":true,)"
        R"("auto-read-only":true,"discard":"unmap"})");
  REQUIRE(out.prepare.size() == 1);
  CHECK(out.prepare[0].kind == cmdline::FilePrep::Kind::create_image_if_missing);
  CHECK(out.prepare[0].path == "/vms/root.raw");
  CHECK(out.prepare[0].size == 1u << 30);
  CHECK(out.warnings ==
        std::vector<std::string>{"disk \"gone\" has no volume of the same name; left out"});
}

TEST_CASE("pc puts devices on pci.0 and adds an AHCI controller for SATA disks") {
  auto spec = bare_spec();
  spec.domain.devices.disks = {disk("iso", "sata")};
  spec.volumes = {file_volume("iso")};
  auto f = facts(4);
  f.q35 = false;
  CHECK(run<cmdline::PciControllersConfigurator>(spec, f).argv.lines() ==
        std::vector<std::string>{"-device virtio-serial-pci,id=virtio-serial0,bus=pci.0,addr=0x3",
                                 "-device ahci,id=sata0,bus=pci.0,addr=0x4"});
  CHECK(run<cmdline::DisksConfigurator>(spec, f).argv.lines().back() ==
        "-device ide-hd,id=disk-iso,bus=sata0.0,drive=fmt-iso");
  CHECK(run<cmdline::GraphicsConfigurator>(bare_spec(), f).argv.lines().empty());
}

TEST_CASE("NIC bindings: tap, bridge, multiqueue, vhost") {
  auto spec = bare_spec();
  spec.domain.devices.network_interface_multiqueue = true;
  policy::InterfaceDevice tap;
  tap.name = "t0";
  tap.binding = "tap";
  tap.tap_name = "vnet7";
  tap.mac_address = "02:00:00:00:00:01";
  tap.boot_order = 1;
  policy::InterfaceDevice br;
  br.name = "br";
  br.binding = "bridge";
  br.model = "e1000e";
  br.mac_address = "02:00:00:00:00:02";
  spec.domain.devices.interfaces = {tap, br};
  auto f = facts();
  f.vhost_net = true;
  const auto tap_name = devices::bridge_tap_name("t", "br");
  CHECK(run<cmdline::NicsConfigurator>(spec, f).argv.lines() ==
        std::vector<std::string>{
            "-netdev tap,id=net-t0,ifname=vnet7,script=no,downscript=no,vhost=on,queues=4",
            "-device virtio-net-pci,id=nic-t0,bus=pci.2,addr=0x0,netdev=net-t0,"
            "mac=02:00:00:00:00:01,mq=on,vectors=10,bootindex=1",
            "-netdev tap,id=net-br,ifname=" + tap_name + ",script=no,downscript=no",
            "-device e1000e,id=nic-br,bus=pci.3,addr=0x0,netdev=net-br,mac=02:00:00:00:00:02"});
}

TEST_CASE("NIC models for old guests are QEMU's devices of the same name") {
  auto spec = bare_spec();
  for (const char* model : {"rtl8139", "pcnet", "ne2k_pci"}) {
    policy::InterfaceDevice nic;
    nic.name = model == std::string_view("ne2k_pci") ? "n2k" : model;
    nic.binding = "user";
    nic.model = model;
    nic.mac_address = "02:00:00:00:00:09";
    spec.domain.devices.interfaces = {nic};
    const auto lines = run<cmdline::NicsConfigurator>(spec, facts()).argv.lines();
    CAPTURE(model);
    REQUIRE(lines.size() == 2);
    CHECK(lines[1].starts_with(fmt::format("-device {},id=nic-{},", model, nic.name)));
    CHECK(lines[1].find("mq=") == std::string::npos);
  }
}

TEST_CASE("a bridge binding asks the daemon for a tap on its network; a tap binding does not") {
  auto spec = bare_spec();
  spec.domain.devices.network_interface_multiqueue = true;
  policy::InterfaceDevice tap;
  tap.name = "t0";
  tap.binding = "tap";
  tap.tap_name = "vnet7";
  policy::InterfaceDevice br;
  br.name = "lan";
  br.binding = "bridge";
  spec.domain.devices.interfaces = {tap, br};
  policy::Network lan;
  lan.name = "lan";
  lan.kind = policy::NetworkKind::multus;
  lan.multus_network_name = "prod";
  spec.networks = {lan};
  const auto out = run<cmdline::NicsConfigurator>(spec, facts());
  REQUIRE(out.taps.size() == 1);
  const auto tap_name = devices::bridge_tap_name("t", "lan");
  CHECK(out.taps[0] ==
        cmdline::TapPlan{.name = tap_name,
                         .network = "prod",
                         .queues = 4,
                         .interface = "lan",
                         .mac = devices::stable_mac("t", "lan"),
                         .netdev = {"tap",
                                    {{"id", std::string("net-lan")},
                                     {"ifname", tap_name},
                                     {"script", std::string("no")},
                                     {"downscript", std::string("no")},
                                     {"queues", std::int64_t{4}}}}});
  auto one_cpu = facts();
  one_cpu.vcpus = 1;  // one queue: a plain tap
  CHECK(run<cmdline::NicsConfigurator>(spec, one_cpu).taps.at(0).queues == 1);
  auto vhost = facts();
  vhost.vhost_net = true;  // a vhost-net descriptor per queue as well
  const auto with_vhost = run<cmdline::NicsConfigurator>(spec, vhost).taps.at(0);
  CHECK(with_vhost.vhost);
  CHECK(with_vhost.netdev.prop("vhost") == "on");
}

TEST_CASE("masquerade: slirp without the NAT network; on it a tap for the daemon's bridge") {
  auto spec = bare_spec();
  policy::InterfaceDevice pod;
  pod.name = "default";
  pod.binding = "masquerade";
  pod.mac_address = "02:00:00:00:00:05";
  policy::InterfaceDevice slirp;
  slirp.name = "old";
  slirp.binding = "user";
  slirp.mac_address = "02:00:00:00:00:06";
  spec.domain.devices.interfaces = {pod, slirp};
  auto off = run<cmdline::NicsConfigurator>(spec, facts());
  CHECK(off.taps.empty());
  CHECK(off.argv.lines().at(0) == "-netdev user,id=net-default");
  auto f = facts();
  f.masquerade_nat = true;
  const auto tap = devices::bridge_tap_name("t", "default");
  const auto on = run<cmdline::NicsConfigurator>(spec, f);
  CHECK(on.argv.lines() ==
        std::vector<std::string>{
            "-netdev tap,id=net-default,ifname=" + tap + ",script=no,downscript=no",
            "-device virtio-net-pci,id=nic-default,bus=pci.2,addr=0x0,netdev=net-default,"
            "mac=02:00:00:00:00:05",
            "-netdev user,id=net-old",  // user stays user-mode networking
            "-device virtio-net-pci,id=nic-old,bus=pci.3,addr=0x0,netdev=net-old,"
            "mac=02:00:00:00:00:06"});
  REQUIRE(on.taps.size() == 1);
  CHECK(on.taps[0] == cmdline::TapPlan{.name = tap,
                                       .nat = true,
                                       .interface = "default",
                                       .mac = "02:00:00:00:00:05",
                                       .netdev = {"tap",
                                                  {{"id", std::string("net-default")},
                                                   {"ifname", tap},
                                                   {"script", std::string("no")},
                                                   {"downscript", std::string("no")}}}});
}

TEST_CASE("inputs: usb needs the xhci controller, virtio takes a port") {
  auto spec = bare_spec();
  spec.domain.devices.inputs = {{"tab", "tablet", std::nullopt}, {"kbd", "keyboard", "virtio"}};
  CHECK(run<cmdline::InputsConfigurator>(spec).argv.lines() ==
        std::vector<std::string>{"-device usb-tablet,id=input-tab,bus=usb.0",
                                 "-device virtio-keyboard-pci,id=input-kbd,bus=pci.3,addr=0x0"});
  const auto layout = cmdline::layout_devices(spec, facts());
  CHECK(layout.usb == devices::PciSlot{"pci.1", "0x0"});

  auto auto_input = bare_spec();
  auto_input.domain.devices.autoattach_input_device = true;
  CHECK(run<cmdline::InputsConfigurator>(auto_input).argv.lines() ==
        std::vector<std::string>{"-device usb-tablet,id=input-default-0,bus=usb.0"});
}

TEST_CASE("balloon, rng and watchdog") {
  auto spec = bare_spec();
  spec.domain.devices.autoattach_mem_balloon = true;
  spec.domain.devices.rng = true;
  spec.domain.devices.watchdog = policy::WatchdogDevice{"w", "i6300esb", std::nullopt};
  CHECK(run<cmdline::MiscDevicesConfigurator>(spec).argv.lines() ==
        std::vector<std::string>{
            "-device virtio-balloon-pci,id=balloon0,bus=pci.2,addr=0x0,free-page-reporting=on",
            "-object rng-random,id=objrng0,filename=/dev/urandom",
            "-device virtio-rng-pci,id=rng0,bus=pci.3,addr=0x0,rng=objrng0",
            "-device i6300esb,id=watchdog0,bus=pci.4,addr=0x0", "-action watchdog=reset"});
}

TEST_CASE("TPM: disabled adds nothing; persistent adds setup, sidecar and state dir") {
  auto spec = bare_spec();
  spec.domain.devices.tpm = policy::TpmDevice{false, true};
  CHECK(run<cmdline::TpmConfigurator>(spec).argv.options().empty());

  spec.domain.devices.tpm = policy::TpmDevice{std::nullopt, true};
  auto f = facts();
  f.swtpm = "/opt/swtpm";
  f.swtpm_setup = "/opt/swtpm_setup";
  const auto out = run<cmdline::TpmConfigurator>(spec, f);
  CHECK(out.argv.lines() ==
        std::vector<std::string>{"-chardev socket,id=chrtpm,path=/run/qmd/vms/t/swtpm-ctrl.sock",
                                 "-tpmdev emulator,id=tpm0,chardev=chrtpm",
                                 "-device tpm-crb,id=tpm-device0,tpmdev=tpm0"});
  REQUIRE(out.sidecars.size() == 2);
  CHECK(out.sidecars[0].argv.front() == "/opt/swtpm_setup");
  CHECK(out.sidecars[0].run_once);
  CHECK(out.sidecars[0].skip_if_exists == "/var/lib/qmd/vms/t/tpm/tpm2-00.permall");
  CHECK(out.sidecars[1].argv.front() == "/opt/swtpm");
  REQUIRE(out.prepare.size() == 1);
  CHECK(out.prepare[0].kind == cmdline::FilePrep::Kind::make_dir);
  CHECK(out.prepare[0].path == "/var/lib/qmd/vms/t/tpm");
  CHECK(out.prepare[0].mode == 0700u);
}

TEST_CASE("virtio-mem covers maxGuest minus guest") {
  auto spec = bare_spec();
  spec.domain.memory.guest = 2ULL << 30;
  spec.domain.memory.max_guest = 2ULL << 30;
  CHECK(run<cmdline::VirtioMemConfigurator>(spec).argv.options().empty());
  spec.domain.memory.max_guest = 6ULL << 30;
  CHECK(run<cmdline::VirtioMemConfigurator>(spec).argv.lines() ==
        std::vector<std::string>{
            "-object memory-backend-ram,id=memvmem0,size=4294967296",
            "-device virtio-mem-pci,id=vmem0,bus=pci.2,addr=0x0,memdev=memvmem0,node=0,"
            "block-size=2097152,requested-size=0"});
}

TEST_CASE("hotplug builds a disk and a NIC from the same params, on a spare port") {
  auto spec = bare_spec();
  auto hot = disk("hot", "virtio");
  hot.cache = "none";
  spec.domain.devices.disks = {hot};
  spec.volumes = {file_volume("hot")};
  const auto f = facts(2);
  const auto layout = cmdline::layout_devices(spec, f);
  REQUIRE(layout.spare.size() == 2);

  RenderResult out;
  const auto params =
      cmdline::disk_params(spec, hot, {layout.spare[0], 0, "iothread-shared"}, f, paths, out);
  REQUIRE(params);
  const auto calls = devices::disk_hotplug(devices::disk_parts(*params));
  REQUIRE(calls.size() == 3);
  CHECK(calls[2].arguments.at("bus") == "pci.3");
  CHECK(calls[2].arguments.at("id") == "disk-hot");
  CHECK(calls[2].arguments.at("iothread") == "iothread-shared");

  policy::InterfaceDevice nic;
  nic.name = "hot";
  nic.binding = "bridge";
  const auto nic_calls =
      devices::nic_hotplug(devices::nic_parts(cmdline::nic_params(spec, nic, layout.spare[1], f)));
  CHECK(nic_calls[0].arguments.at("ifname").as_string() ==
        devices::bridge_tap_name("t", "hot").c_str());
  CHECK(nic_calls[1].arguments.at("bus") == "pci.4");
  CHECK(nic_calls[1].arguments.at("mac").as_string() == devices::stable_mac("t", "hot").c_str());
}
