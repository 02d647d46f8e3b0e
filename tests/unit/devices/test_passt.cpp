#include <doctest/doctest.h>

#include "devices/passt.hpp"

using namespace qmd;

namespace {
devices::PasstParams params() {
  devices::PasstParams p;
  p.socket = "/run/qmd/vms/a/passt-default.sock";
  p.pid_file = "/run/qmd/vms/a/passt-default.pid";
  return p;
}
}  // namespace

TEST_CASE("no ports: passt forwards nothing") {
  CHECK(devices::passt_argv(params()) ==
        std::vector<std::string>{"/usr/bin/passt", "--foreground", "--quiet", "--one-off",
                                 "--socket", "/run/qmd/vms/a/passt-default.sock", "--pid",
                                 "/run/qmd/vms/a/passt-default.pid"});
}

TEST_CASE("ports: one -t and one -u list of HOST:GUEST") {
  auto p = params();
  p.binary = "/opt/passt";
  p.forwards = {{"default", "ssh", "TCP", 22, 20022},
                {"default", "dns", "UDP", 53, 53},
                {"default", "", "TCP", 8080, 8080}};
  CHECK(devices::passt_argv(p) ==
        std::vector<std::string>{"/opt/passt", "--foreground", "--quiet", "--one-off",
                                 "--socket", "/run/qmd/vms/a/passt-default.sock", "--pid",
                                 "/run/qmd/vms/a/passt-default.pid", "-t", "20022:22,8080:8080",
                                 "-u", "53:53"});
}

TEST_CASE("vmNetworkCIDR: the guest's address, prefix and gateway in it (-a, -n, -g)") {
  auto p = params();
  p.vm_network = policy::parse_vm_network_cidr("192.168.77.0/24").value();
  p.forwards = {{"default", "ssh", "TCP", 22, 22}};
  CHECK(devices::passt_argv(p) ==
        std::vector<std::string>{"/usr/bin/passt", "--foreground", "--quiet", "--one-off",
                                 "--socket", "/run/qmd/vms/a/passt-default.sock", "--pid",
                                 "/run/qmd/vms/a/passt-default.pid", "-a", "192.168.77.2", "-n",
                                 "24", "-g", "192.168.77.1", "-t", "22:22"});
}
