#include <doctest/doctest.h>

#include <boost/json/parse.hpp>

#include "devices/disk.hpp"
#include "tests/unit/devices/agree.hpp"

using namespace qmd::devices;

namespace {
DiskParams overlay_disk(const std::string& base_format) {
  DiskParams p;
  p.name = "root";
  p.path = "/run/qmd/vms/t/overlay-root.qcow2";
  p.format = "qcow2";
  p.backing = BackingImage{"/srv/images/base." + base_format, base_format, false};
  p.pci = PciSlot{"pci.3", "0x0"};
  return p;
}
}  // namespace

TEST_CASE("no backing adds no backing nodes") {
  auto p = overlay_disk("raw");
  p.backing.reset();
  const auto parts = disk_parts(p);
  CHECK(parts.backing_nodes.empty());
  // A qcow2 of its own: the header's backing file, if any, is never opened.
  CHECK(parts.format_node.at("backing").is_null());
  CHECK(disk_options(parts).size() == 3);
  CHECK(disk_release(parts).size() == 2);
}

TEST_CASE("an overlay: the base's read-only nodes first, named as the overlay's backing") {
  const auto parts = disk_parts(overlay_disk("raw"));
  CHECK(disk_options(parts) ==
        std::vector<Option>{
            {"-blockdev",
             R"({"driver":"file","filename":"/srv/images/base.raw","node-name":"file-root.b",)"
             R"("read-only":true,"auto-read-only":true})"},
            {"-blockdev",
             R"({"driver":"raw","file":"file-root.b","node-name":"fmt-root.b","read-only":true})"},
            {"-blockdev",
             R"({"driver":"file","filename":"/run/qmd/vms/t/overlay-root.qcow2",)"
             R"("node-name":"file-root","read-only":false,"auto-read-only":true,)"
             R"("discard":"unmap"})"},
            {"-blockdev",
             R"({"driver":"qcow2","file":"file-root","node-name":"fmt-root","read-only":false,)"
             R"("discard":"unmap","backing":"fmt-root.b"})"},
            {"-device", "virtio-blk-pci,id=disk-root,bus=pci.3,addr=0x0,drive=fmt-root"}});
}

TEST_CASE("a qcow2 base opens no backing of its own; hotplug and release agree with coldplug") {
  const auto parts = disk_parts(overlay_disk("qcow2"));
  REQUIRE(parts.backing_nodes.size() == 2);
  CHECK(parts.backing_nodes[1].at("backing").is_null());
  const auto options = disk_options(parts);
  const auto calls = disk_hotplug(parts);
  REQUIRE(calls.size() == options.size());
  for (std::size_t i = 0; i + 1 < options.size(); ++i) {
    CHECK(calls[i].execute == "blockdev-add");
    CHECK(boost::json::parse(*options[i].value).as_object() == calls[i].arguments);
  }
  qmd::devices::testing::check_agree(options.back(), calls.back(), "driver");
  const auto release = disk_release(parts);
  REQUIRE(release.size() == 4);
  CHECK(release[0].arguments.at("node-name") == "fmt-root");
  CHECK(release[1].arguments.at("node-name") == "file-root");
  CHECK(release[2].arguments.at("node-name") == "fmt-root.b");
  CHECK(release[3].arguments.at("node-name") == "file-root.b");
}
