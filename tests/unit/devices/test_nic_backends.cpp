// The user-mode backends' own parts: slirp's hostfwd for forwarded ports, passt's stream.
#include <doctest/doctest.h>

#include "devices/nic.hpp"

using namespace qmd::devices;

namespace {
NicParams user_nic() {
  NicParams p;
  p.name = "default";
  p.mac = "52:54:00:12:34:56";
  p.pci = {"pci.2", "0x0"};
  return p;
}
}  // namespace

TEST_CASE("user NIC: one hostfwd per forwarded port, on every host address") {
  auto p = user_nic();
  p.forwards = {{"default", "ssh", "TCP", 22, 20022}, {"default", "dns", "UDP", 53, 53}};
  CHECK(nic_options(nic_parts(p)).at(0) ==
        Option{"-netdev", "user,id=net-default,hostfwd=tcp::20022-:22,hostfwd=udp::53-:53"});
}

TEST_CASE("user NIC without vmNetworkCIDR: QEMU's own network") {
  CHECK(nic_options(nic_parts(user_nic())).at(0) == Option{"-netdev", "user,id=net-default"});
}

TEST_CASE("user NIC with vmNetworkCIDR: gateway .1, DNS .3, the guest's lease .2") {
  auto p = user_nic();
  p.vm_network = qmd::policy::parse_vm_network_cidr("10.11.12.0/24").value();
  p.forwards = {{"default", "ssh", "TCP", 22, 20022}};
  CHECK(nic_options(nic_parts(p)).at(0) ==
        Option{"-netdev",
               "user,id=net-default,net=10.11.12.0/24,host=10.11.12.1,dns=10.11.12.3,"
               "dhcpstart=10.11.12.2,hostfwd=tcp::20022-:22"});
}

TEST_CASE("a tap NIC never takes vmNetworkCIDR") {
  auto p = user_nic();
  p.tap = true;
  p.tap_name = "qmd-t";
  p.vm_network = qmd::policy::parse_vm_network_cidr("10.11.12.0/24").value();
  CHECK(nic_options(nic_parts(p)).at(0).value->find("net=") == std::string::npos);
}

TEST_CASE("passt NIC: a stream netdev on passt's socket, never vhost or queues") {
  auto p = user_nic();
  p.passt_socket = "/run/qmd/vms/a/passt-default.sock";
  p.queues = 4;
  p.vhost = true;
  p.forwards = {{"default", "ssh", "TCP", 22, 22}};  // passt forwards them, not QEMU
  CHECK(nic_options(nic_parts(p)) ==
        std::vector<Option>{
            {"-netdev",
             "stream,id=net-default,server=off,addr.type=unix,"
             "addr.path=/run/qmd/vms/a/passt-default.sock"},
            {"-device",
             "virtio-net-pci,id=nic-default,bus=pci.2,addr=0x0,netdev=net-default,"
             "mac=52:54:00:12:34:56"}});
}
