#include "devices/cdrom.hpp"

#include <doctest/doctest.h>

#include <boost/json/serialize.hpp>

#include "devices/disk.hpp"

using namespace qmd::devices;

namespace {
std::string calls_text(const std::vector<QmpCall>& calls) {
  std::string out;
  for (const auto& c : calls) {
    out += c.execute + " " + boost::json::serialize(c.arguments) + "\n";
  }
  return out;
}
}  // namespace

TEST_CASE("an empty drive is the device alone, with no drive property") {
  DiskParams p;
  p.name = "cd";
  p.cdrom = true;
  p.empty = true;
  p.bus = "scsi";
  p.controller_bus = "scsi0.0";
  p.unit = 1;
  const auto options = disk_options(disk_parts(p));
  REQUIRE(options.size() == 1);
  CHECK(options[0].flag == "-device");
  CHECK(options[0].value == "scsi-cd,id=disk-cd,bus=scsi0.0,channel=0,scsi-id=0,lun=1");
}

TEST_CASE("medium nodes alternate and never take the coldplugged names") {
  CHECK(next_medium_nodes("cd", "").format == "cdm-cd-1");
  CHECK(next_medium_nodes("cd", "fmt-cd").format == "cdm-cd-1");
  CHECK(next_medium_nodes("cd", "cdm-cd-1").format == "cdm-cd-2");
  CHECK(next_medium_nodes("cd", "cdm-cd-2").file == "cdf-cd-1");
  const std::string longest(24, 'x');
  CHECK(next_medium_nodes(longest, "").file.size() <= 31);
  CHECK(medium_file_node("fmt-cd") == "file-cd");
  CHECK(medium_file_node("cdm-cd-2") == "cdf-cd-2");
  CHECK(medium_file_node("#block123") == "");
}

TEST_CASE("a swap opens the tray by force, swaps, closes; an eject inserts nothing") {
  CHECK(calls_text(medium_swap("cd", "cdm-cd-1")) ==
        "blockdev-open-tray {\"id\":\"disk-cd\",\"force\":true}\n"
        "blockdev-remove-medium {\"id\":\"disk-cd\"}\n"
        "blockdev-insert-medium {\"id\":\"disk-cd\",\"node-name\":\"cdm-cd-1\"}\n"
        "blockdev-close-tray {\"id\":\"disk-cd\"}\n");
  CHECK(calls_text(medium_swap("cd", "")) ==
        "blockdev-open-tray {\"id\":\"disk-cd\",\"force\":true}\n"
        "blockdev-remove-medium {\"id\":\"disk-cd\"}\n"
        "blockdev-close-tray {\"id\":\"disk-cd\"}\n");
}

TEST_CASE("a medium is a read-only file node under its format node, and goes format first") {
  CHECK(calls_text(medium_add({"cdf-cd-1", "cdm-cd-1"}, "/dev/fdset/3", "raw")) ==
        "blockdev-add {\"driver\":\"file\",\"filename\":\"/dev/fdset/3\",\"node-name\":"
        "\"cdf-cd-1\",\"read-only\":true,\"auto-read-only\":false}\n"
        "blockdev-add {\"driver\":\"raw\",\"file\":\"cdf-cd-1\",\"node-name\":\"cdm-cd-1\","
        "\"read-only\":true}\n");
  CHECK(calls_text(medium_del("fmt-cd")) ==
        "blockdev-del {\"node-name\":\"fmt-cd\"}\nblockdev-del {\"node-name\":\"file-cd\"}\n");
}
