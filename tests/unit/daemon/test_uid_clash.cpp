// qemuUids against the host: the reserved spans and the ids the host's files give out.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "daemon/host/uid_clash.hpp"

using namespace qmd::daemon;

TEST_CASE("a range clear of the host and the reserved spans is accepted") {
  CHECK_FALSE(uid_range_refusal(UidRange{}, {}));
  const auto host = parse_id_file("root:x:0:0:root:/root:/bin/bash\n", "/etc/passwd");
  CHECK_FALSE(uid_range_refusal(UidRange{}, host));
  CHECK_FALSE(uid_range_refusal(UidRange{65536, 34464}, host));  // 65536–99999
}

TEST_CASE("an empty range or one in a reserved span is refused, naming the span") {
  CHECK(*uid_range_refusal(UidRange{1879048192, 0}, {}) ==
        "qemuUids {first: 1879048192, count: 0} is empty: give count 1 or more (one uid per "
        "VM)");
  const auto low = uid_range_refusal(UidRange{61184, 100}, {});
  REQUIRE(low);
  CHECK(low->starts_with("qemuUids 61184–61283 overlaps what qmd never hands out: 0–65535 "
                         "holds the system and login users, systemd's DynamicUser range"));
  const auto foreign = uid_range_refusal(UidRange{2147352000, 1000}, {});
  REQUIRE(foreign);
  CHECK(foreign->find("systemd's foreign-uid range") != std::string::npos);
  const auto high = uid_range_refusal(UidRange{2147483000, 1000}, {});
  REQUIRE(high);
  CHECK(high->find("negative") != std::string::npos);
  // The last id of a span and the first of the range: the edge counts.
  CHECK(uid_range_refusal(UidRange{65535, 10}, {}));
  CHECK_FALSE(uid_range_refusal(UidRange{65536, 10}, {}));
}

TEST_CASE("a user, a group or a subordinate span in the range is refused by name and file") {
  const auto users = parse_id_file(
      "# comment\nroot:x:0:0::/root:/bin/sh\nodd:x:notanumber:0::/:/bin/sh\n"
      "svc:x:1879048200:1879048200::/:/usr/sbin/nologin\n",
      "/etc/passwd");
  REQUIRE(users.size() == 2);
  CHECK(*uid_range_refusal(UidRange{}, users) ==
        "qemuUids 1879048192–1879113727 overlaps id 1879048200 of svc in /etc/passwd: a VM's "
        "QEMU would run as (or beside) them; move qemuUids.first or shrink qemuUids.count in "
        "qmd.yaml");
  const auto groups = parse_id_file("vmgrp:x:1879113727:\n", "/etc/group");
  CHECK(uid_range_refusal(UidRange{}, groups)->find("id 1879113727 of vmgrp in /etc/group") !=
        std::string::npos);
  CHECK_FALSE(uid_range_refusal(UidRange{1879048192, 65535}, groups));  // one short of it
  const auto subuids = parse_subid_file("alice:100000:65536\nbob:1879000000:100000\nbad:1:x\n",
                                        "/etc/subuid");
  REQUIRE(subuids.size() == 2);
  CHECK(uid_range_refusal(UidRange{}, subuids)->find(
            "ids 1879000000–1879099999 of bob in /etc/subuid") != std::string::npos);
  CHECK(uid_range_refusal(UidRange{150000, 10}, subuids)->find(
            "ids 100000–165535 of alice in /etc/subuid") != std::string::npos);
}

TEST_CASE("the host's files are read from the directory given; a missing one names nothing") {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("qmd-uid-clash-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "passwd") << "a:x:1000:1000::/home/a:/bin/sh\n";
  std::ofstream(dir / "subgid") << "a:1879048192:10\n";
  const auto ids = read_host_ids(dir.string());
  REQUIRE(ids.size() == 2);
  CHECK(ids[0].where == dir.string() + "/passwd");
  CHECK(ids[1].where == dir.string() + "/subgid");
  CHECK(uid_range_refusal(UidRange{}, ids)->find("of a in " + dir.string() + "/subgid") !=
        std::string::npos);
  std::filesystem::remove_all(dir);
  // This host's own files: the default range is clear of them (or the suite says why not).
  const auto clash = uid_range_refusal(UidRange{}, read_host_ids());
  CHECK_MESSAGE(!clash, clash.value_or(""));
}
