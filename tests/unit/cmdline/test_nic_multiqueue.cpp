// networkInterfaceMultiqueue on taps: one queue per vCPU up to KubeVirt's 256, vectors
// 2N+2, vhost where the host has /dev/vhost-net; and the seed guide's Windows Server 2022
// spec on a tap (a bridge binding; a managed NAT network makes masquerade a tap as well).
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include "cmdline/device_configurators.hpp"
#include "cmdline/render.hpp"
#include "policy/parse.hpp"
#include "policy/presets.hpp"

using namespace qmd;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

policy::VmSpec tap_vm(std::uint32_t cores) {
  policy::VmSpec spec;
  spec.name = "mq";
  spec.domain.cpu.cores = cores;
  spec.domain.devices.network_interface_multiqueue = true;
  policy::InterfaceDevice nic;
  nic.name = "t0";
  nic.binding = "tap";
  nic.tap_name = "vnet0";
  nic.mac_address = "02:00:00:00:00:01";
  spec.domain.devices.interfaces = {nic};
  return spec;
}

std::vector<std::string> nic_lines(const policy::VmSpec& spec, std::uint32_t vcpus, bool vhost) {
  cmdline::DeviceFacts facts;
  facts.vcpus = vcpus;
  facts.vhost_net = vhost;
  cmdline::RenderResult out;
  cmdline::NicsConfigurator(facts, cmdline::VmPaths{"/run/qmd/vms/mq", "/var/lib/qmd/vms/mq"})
      .configure(spec, out);
  return out.argv.lines();
}

}  // namespace

TEST_CASE("multiqueue off: one queue, no mq") {
  auto spec = tap_vm(4);
  spec.domain.devices.network_interface_multiqueue.reset();
  CHECK(nic_lines(spec, 4, true) ==
        std::vector<std::string>{
            "-netdev tap,id=net-t0,ifname=vnet0,script=no,downscript=no,vhost=on",
            "-device virtio-net-pci,id=nic-t0,bus=pci.2,addr=0x0,netdev=net-t0,"
            "mac=02:00:00:00:00:01"});
}

TEST_CASE("one queue per vCPU, vectors 2N+2; vhost only with /dev/vhost-net") {
  CHECK(nic_lines(tap_vm(16), 16, true) ==
        std::vector<std::string>{
            "-netdev tap,id=net-t0,ifname=vnet0,script=no,downscript=no,vhost=on,queues=16",
            "-device virtio-net-pci,id=nic-t0,bus=pci.2,addr=0x0,netdev=net-t0,"
            "mac=02:00:00:00:00:01,mq=on,vectors=34"});
  CHECK(nic_lines(tap_vm(16), 16, false) ==
        std::vector<std::string>{
            "-netdev tap,id=net-t0,ifname=vnet0,script=no,downscript=no,queues=16",
            "-device virtio-net-pci,id=nic-t0,bus=pci.2,addr=0x0,netdev=net-t0,"
            "mac=02:00:00:00:00:01,mq=on,vectors=34"});
}

TEST_CASE("KubeVirt's cap: at most 256 queues") {
  CHECK(nic_lines(tap_vm(256), 256, true).at(0).ends_with(",vhost=on,queues=256"));
  const auto lines = nic_lines(tap_vm(288), 288, true);
  CHECK(lines.at(0).ends_with(",vhost=on,queues=256"));
  CHECK(lines.at(1).ends_with(",mq=on,vectors=514"));
}

TEST_CASE("the seed Windows Server 2022 spec on a tap: queues=16, vectors=34, vhost") {
  const std::string file = std::string(QMD_SOURCE_DIR) + "/tests/golden/seed-win2k22-secureboot.yaml";
  const std::string text = read_file(file);
  // The fake host of its header: 64 CPUs, vhost-net, QEMU 7.2.
  const auto host_line = text.substr(8, text.find('\n') - 8);
  REQUIRE(text.starts_with("# host: "));
  auto host = policy::parse_host_caps(host_line);
  REQUIRE_MESSAGE(host, (host ? "" : host.error()));
  auto parsed = policy::parse_spec(text, "seed-win2k22-secureboot.yaml");
  REQUIRE(parsed);
  auto catalog = policy::PresetCatalog::load("");
  REQUIRE(catalog);
  auto spec = policy::apply_presets(*parsed, *catalog);
  REQUIRE(spec);
  // Its pod NIC, made a bridge binding on a multus network (a tap qmd makes).
  REQUIRE(spec->domain.devices.interfaces.size() == 1);
  spec->domain.devices.interfaces[0].binding = "bridge";
  spec->networks[0].kind = policy::NetworkKind::multus;
  spec->networks[0].multus_network_name = "prod";
  policy::RunPolicy run;
  run.bridges = {{"prod", "br0"}};
  run.state_dir = "/var/lib/qmd/vms/win2k22-perf";
  auto r = cmdline::render(*spec, *host,
                           {"/run/qmd/vms/win2k22-perf", "/var/lib/qmd/vms/win2k22-perf"}, run);
  REQUIRE_MESSAGE(r, (r ? "" : policy::to_string(r.error())));
  std::vector<std::string> nics;
  for (const auto& line : r->argv.lines()) {
    if (line.starts_with("-netdev") || line.find("virtio-net-pci") != std::string::npos) {
      nics.push_back(line);
    }
  }
  CHECK(nics == std::vector<std::string>{
                    "-netdev tap,id=net-default,ifname=" + r->taps.at(0).name +
                        ",script=no,downscript=no,vhost=on,queues=16",
                    "-device virtio-net-pci,id=nic-default,bus=pci.2,addr=0x0,"
                    "netdev=net-default,mac=52:54:00:5c:db:84,mq=on,vectors=34"});
  // The daemon opens 16 queues of the tap and 16 /dev/vhost-net for QEMU (tap_fds.hpp).
  CHECK(r->taps.at(0).queues == 16);
  CHECK(r->taps.at(0).vhost);
  CHECK(r->taps.at(0).network == "prod");
}
