#include <doctest/doctest.h>

#include "devices/naming.hpp"

using namespace qmd::devices;

TEST_CASE("ids are the spec name behind a fixed prefix") {
  CHECK(file_node("root") == "file-root");
  CHECK(format_node("root") == "fmt-root");
  CHECK(disk_id("root") == "disk-root");
  CHECK(iothread_id("root") == "iothread-root");
  CHECK(netdev_id("lan") == "net-lan");
  CHECK(nic_id("lan") == "nic-lan");
  CHECK(input_id("tab") == "input-tab");
}

TEST_CASE("stable MAC and tap names depend only on VM and interface names") {
  CHECK(stable_hash("") == 0xcbf29ce484222325ULL);
  CHECK(stable_hash("a") == 0xaf63dc4c8601ec8cULL);  // FNV-1a 64 reference value
  const auto mac = stable_mac("vm1", "default");
  CHECK(mac == stable_mac("vm1", "default"));
  CHECK(mac != stable_mac("vm2", "default"));
  CHECK(mac.starts_with("52:54:00:"));
  CHECK(mac.size() == 17);
  const auto tap = bridge_tap_name("vm1", "lan");
  CHECK(tap.size() == 12);  // within IFNAMSIZ - 1
  CHECK(tap.starts_with("tap-"));
  CHECK(tap != bridge_tap_name("vm1", "lan2"));
}
