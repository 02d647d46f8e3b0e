// NICs attached without --persist in the VM's record.json: written, read back as they were,
// and a record that is not well formed (hand-edited, or worse) drops the bad entry with its
// reason and keeps the rest.
#include <doctest/doctest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <string>

#include "daemon/runtime/hot_nic_record.hpp"
#include "daemon/runtime/vm.hpp"
#include "devices/naming.hpp"

using qmd::daemon::HotNic;
using qmd::daemon::VmRecord;
namespace json = boost::json;

namespace {

HotNic nat_nic(const std::string& vm, const std::string& name) {
  return HotNic{name, "masquerade", "", qmd::devices::bridge_tap_name(vm, name),
                "02:00:00:5a:00:11"};
}

// A record whose hotNics holds `bad` between two good entries.
VmRecord read_with(const std::string& bad) {
  const std::string good1 = json::serialize(qmd::daemon::hot_nics_to_json({nat_nic("n1", "a")}));
  const std::string good2 = json::serialize(qmd::daemon::hot_nics_to_json({nat_nic("n1", "b")}));
  const std::string text = R"({"uuid": "u", "hotNics": [)" + good1.substr(1, good1.size() - 2) +
                           ", " + bad + ", " + good2.substr(1, good2.size() - 2) + "]}";
  return VmRecord::from_json(text);
}

}  // namespace

TEST_CASE("a record without hot NICs writes none and reads none") {
  VmRecord record;
  record.uuid = "u";
  CHECK_FALSE(record.to_json().contains("hotNics"));
  const auto back = VmRecord::from_json(json::serialize(record.to_json()));
  CHECK(back.hot_nics.empty());
  CHECK(back.hot_nics_dropped.empty());
  CHECK(VmRecord::from_json(R"({"hotNics": null})").hot_nics_dropped.empty());
}

TEST_CASE("hot NICs of every binding are read back as written") {
  VmRecord record;
  record.uuid = "u";
  record.hot_nics = {
      nat_nic("n1", "extra"),
      {"lab", "bridge", "labnet", qmd::devices::bridge_tap_name("n1", "lab"), "52:54:00:12:34:56"},
      {"mine", "tap", "", "mytap0", "52:54:00:AB:CD:EF"},
      {"slirp", "user", "", "", "52:54:00:00:00:01"}};
  const auto object = record.to_json();
  const auto& first = object.at("hotNics").as_array().at(0).as_object();
  CHECK(first.at("deviceId").as_string() == "nic-extra");
  CHECK(first.at("netdevId").as_string() == "net-extra");
  CHECK(first.at("tap").as_string() == qmd::devices::bridge_tap_name("n1", "extra"));
  CHECK_FALSE(object.at("hotNics").as_array().at(3).as_object().contains("tap"));
  const auto back = VmRecord::from_json(json::serialize(object));
  CHECK(back.hot_nics == record.hot_nics);
  CHECK(back.hot_nics_dropped.empty());
  CHECK(json::serialize(back.to_json()) == json::serialize(object));
}

TEST_CASE("a bad hot NIC entry is dropped with its reason; the others stay") {
  struct Bad {
    std::string entry;
    std::string reason;
  };
  const Bad cases[] = {
      {R"("nic-x")", "hotNics[1]: not an object"},
      {R"({"name": "../../etc", "binding": "user", "mac": "52:54:00:00:00:01"})",
       R"(name "../../etc" is not an interface name)"},
      {R"({"name": "x\n\u001b[31m", "binding": "user", "mac": "52:54:00:00:00:01"})",
       R"(name "x??[31m" is not an interface name)"},
      {R"({"name": 7, "binding": "user", "mac": "52:54:00:00:00:01"})", "name is not a string"},
      {R"({"name": "x", "binding": "vhost-user", "mac": "52:54:00:00:00:01"})",
       R"(binding "vhost-user" is not one hotplug makes)"},
      {R"({"name": "x", "binding": "user", "mac": "52:54:00:00:00"})",
       R"(mac "52:54:00:00:00" is not a MAC address)"},
      {R"({"name": "x", "binding": "masquerade", "mac": "52:54:00:00:00:01"})",
       R"(tap "" does not fit binding masquerade)"},
      {R"({"name": "x", "binding": "tap", "tap": "eth0;reboot", "mac": "52:54:00:00:00:01"})",
       R"(tap "eth0;reboot" does not fit binding tap)"},
      {R"({"name": "x", "binding": "tap", "tap": "a-very-long-tap-name", "mac": "52:54:00:00:00:01"})",
       "does not fit binding tap"},
      {R"({"name": "x", "binding": "tap", "tap": "..", "mac": "52:54:00:00:00:01"})",
       "does not fit binding tap"},
      {R"({"name": "x", "binding": "user", "tap": "tap0", "mac": "52:54:00:00:00:01"})",
       R"(tap "tap0" does not fit binding user)"},
      {R"({"name": "x", "binding": "bridge", "tap": "tap-00000000", "mac": "52:54:00:00:00:01"})",
       R"(network "" is not a network name)"},
      {R"({"name": "x", "binding": "user", "mac": "52:54:00:00:00:01", "deviceId": "disk-root"})",
       R"(QEMU ids "disk-root", "" are not interface x's)"},
      {R"({"name": "a", "binding": "user", "mac": "52:54:00:00:00:01"})",
       "hotNics[1]: interface a is listed twice"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.entry);
    const auto record = read_with(c.entry);
    CHECK(record.hot_nics == std::vector<HotNic>{nat_nic("n1", "a"), nat_nic("n1", "b")});
    REQUIRE(record.hot_nics_dropped.size() == 1);
    CHECK(record.hot_nics_dropped[0].find(c.reason) != std::string::npos);
    CHECK(record.hot_nics_dropped[0].starts_with("hotNics[1]: "));
    CHECK(record.hot_nics_dropped[0].ends_with("; ignored"));
    // What is written again holds the good entries only.
    CHECK(json::serialize(record.to_json()).find("\"x") == std::string::npos);
  }
}

TEST_CASE("a huge or endless hot NIC list is capped; the rest of the record stays") {
  const std::string huge(100000, 'a');
  auto record = read_with(R"({"name": ")" + huge + R"(", "binding": "user", "mac": "x"})");
  REQUIRE(record.hot_nics_dropped.size() == 1);
  CHECK(record.hot_nics_dropped[0].size() < 200);  // the value shown is cut short
  CHECK(record.uuid == "u");

  json::array many;
  for (std::size_t i = 0; i < qmd::daemon::kMaxHotNics + 5; ++i) {
    many.push_back(json::object{
        {"name", "n" + std::to_string(i)}, {"binding", "user"}, {"mac", "52:54:00:00:00:01"}});
  }
  record = VmRecord::from_json(json::serialize(json::object{{"hotNics", many}}));
  CHECK(record.hot_nics.size() == qmd::daemon::kMaxHotNics);
  REQUIRE(record.hot_nics_dropped.size() == 1);
  CHECK(record.hot_nics_dropped[0] ==
        "hotNics[32] and the 4 after it: more than 32 entries; "
        "ignored");

  record = VmRecord::from_json(R"({"uuid": "u", "hotNics": {"name": "a"}})");
  CHECK(record.hot_nics.empty());
  CHECK(record.hot_nics_dropped == std::vector<std::string>{"hotNics is not a list; ignored"});
  CHECK(record.uuid == "u");
}

TEST_CASE("a recorded tap qmd made must be the one it makes for this VM's interface") {
  using qmd::daemon::hot_nic_mismatch;
  CHECK_FALSE(hot_nic_mismatch(nat_nic("n1", "extra"), "n1"));
  // Another VM's tap, or a host interface, is never this VM's to delete.
  const auto other = hot_nic_mismatch(nat_nic("n2", "extra"), "n1");
  REQUIRE(other);
  CHECK(*other == "interface extra: tap " + qmd::devices::bridge_tap_name("n2", "extra") +
                      " is not the one qmd makes for it (" +
                      qmd::devices::bridge_tap_name("n1", "extra") + ")");
  HotNic bridge{"lab", "bridge", "labnet", "eth0", "52:54:00:12:34:56"};
  CHECK(hot_nic_mismatch(bridge, "n1"));
  // A tap binding's tap is the host's own: qmd never deletes it, whatever its name.
  HotNic tap{"mine", "tap", "", "eth0", "52:54:00:12:34:56"};
  CHECK_FALSE(hot_nic_mismatch(tap, "n1"));
}
