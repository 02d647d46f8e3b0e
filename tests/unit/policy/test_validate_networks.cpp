#include <doctest/doctest.h>

#include "tests/unit/policy/test_validate_fixture.hpp"

using namespace qmd::policy;
using namespace qmd::policy::test;

namespace {
// A network entry: pod, or multus onto `bridge`.
Network network(std::string name, NetworkKind kind, std::string bridge = {}) {
  Network n;
  n.name = std::move(name);
  n.kind = kind;
  n.multus_network_name = std::move(bridge);
  return n;
}

const std::string kNic = "spec.template.spec.domain.devices.interfaces";
const std::string kNet = "spec.template.spec.networks";

InterfaceDevice nic(std::string name, std::string binding) {
  InterfaceDevice n;
  n.name = std::move(name);
  n.binding = std::move(binding);
  return n;
}

// A VM with the default pod NIC plus a bridge NIC on multus network "lan" (host bridge br0).
VmSpec bridged_vm() {
  auto spec = minimal_vm();
  spec.domain.devices.interfaces.push_back(nic("lan", "bridge"));
  spec.networks.push_back(network("lan", NetworkKind::multus, "br0"));
  return apply_defaults(std::move(spec));
}

const RunPolicy kBridges = [] {
  RunPolicy policy;
  policy.bridges = {{"br0", "br0"}};
  return policy;
}();
}  // namespace

TEST_CASE("the default pod interface has no errors") { CHECK(errors_of(minimal_vm()) == ""); }

TEST_CASE("pod and multus interfaces with known bridges pass") {
  auto spec = bridged_vm();
  spec.domain.devices.interfaces[1].mac_address = "02:00:00:aa:bb:cc";
  spec.domain.devices.interfaces[1].model = "e1000e";
  CHECK(errors_of(spec, kBridges) == "");
}

TEST_CASE("a bridge must be listed in qmd.yaml") {
  CHECK(errors_of(bridged_vm()) ==
        kNet +
            "[1].multus.networkName: \"br0\" is not a bridge qmd knows; add it under "
            "bridges: in qmd.yaml (<spec>)\n");
}

TEST_CASE("interfaces and networks pair by name, both ways, and names are unique") {
  auto spec = minimal_vm();
  spec.domain.devices.interfaces.push_back(nic("default", "masquerade"));
  spec.domain.devices.interfaces.push_back(nic("wan", "tap"));
  spec.networks.push_back(network("lan", NetworkKind::multus, "br0"));
  CHECK(errors_of(spec, kBridges) ==
        kNic + "[1].name: \"default\" is already the name of interfaces[0] (<spec>)\n" + kNic +
            "[2].name: interface \"wan\" has no network of the same name; add networks: - "
            "name: wan (<spec>)\n" +
            kNet +
            "[1].name: network \"lan\" is not used by any interface; add an interface "
            "named \"lan\" or remove the network (<spec>)\n");
}

TEST_CASE("bindings fit their network kind; one pod network at most") {
  auto spec = minimal_vm();
  spec.domain.devices.interfaces.push_back(nic("lan", "masquerade"));
  spec.networks.push_back(network("lan", NetworkKind::multus, "br0"));
  spec.domain.devices.interfaces.push_back(nic("pod2", "tap"));
  spec.networks.push_back(network("pod2", NetworkKind::pod));
  CHECK(errors_of(spec, kBridges) ==
        kNic +
            "[1].masquerade: masquerade works only on a pod network, and network \"lan\" is "
            "multus; use bridge or tap (<spec>)\n" +
            kNic +
            "[2].tap: tap needs a multus network naming a host bridge, and network "
            "\"pod2\" is the pod network; use masquerade, user or passt (<spec>)\n" +
            kNet + "[2].pod: only one pod network is allowed (networks[0] is one) (<spec>)\n");
}

TEST_CASE("models and MAC addresses") {
  auto spec = bridged_vm();
  auto& nics = spec.domain.devices.interfaces;
  nics[0].model = "igb";
  nics[0].mac_address = "02:00:00:00:00";
  nics[1].model = "e1000";
  nics[1].mac_address = "01:00:5e:00:00:01";
  CHECK(errors_of(spec, kBridges) ==
        kNic +
            "[0].model: \"igb\" is not one of virtio, e1000e, e1000, rtl8139, pcnet, ne2k_pci "
            "(<spec>)\n" +
            kNic +
            "[0].macAddress: \"02:00:00:00:00\" is not a MAC address like "
            "02:00:00:00:00:01 (<spec>)\n" +
            kNic +
            "[1].macAddress: \"01:00:5e:00:00:01\" is a multicast address; the first "
            "octet must be even (<spec>)\n");
}

TEST_CASE("multiqueue with e1000 NICs is valid: KubeVirt applies it to virtio NICs only") {
  auto spec = bridged_vm();
  spec.domain.devices.interfaces[0].model = "e1000";
  spec.domain.devices.interfaces[1].model = "e1000e";
  spec.domain.devices.network_interface_multiqueue = true;
  CHECK(errors_of(spec, kBridges) == "");
}
