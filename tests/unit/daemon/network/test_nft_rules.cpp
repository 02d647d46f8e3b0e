#include <doctest/doctest.h>

#include <algorithm>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "daemon/network/nft_rules.hpp"

using namespace qmd::daemon::network;
namespace json = boost::json;

namespace {

const char* kHead = R"({"metainfo":{"json_schema_version":1}})";

// The batch's commands after the metadata, one JSON text each.
std::vector<std::string> commands(const json::object& batch) {
  std::vector<std::string> out;
  const auto& all = batch.at("nftables").as_array();
  REQUIRE(json::serialize(all.at(0)) == kHead);
  for (std::size_t i = 1; i < all.size(); ++i) {
    out.push_back(json::serialize(all[i]));
  }
  return out;
}

}  // namespace

TEST_CASE("no port forwards: the chain is only flushed") {
  CHECK(commands(port_forwards_replace({})) ==
        std::vector<std::string>{
            R"({"flush":{"chain":{"family":"inet","table":"qmd","name":"portforwards"}}})"});
}

TEST_CASE("port forwards: one DNAT rule each, TCP and UDP") {
  const std::vector<PortForward> forwards{
      {PortForward::Protocol::tcp, 8080, *parse_ipv4("10.91.0.5"), 80},
      {PortForward::Protocol::udp, 5353, *parse_ipv4("10.91.0.6"), 53}};
  CHECK(commands(port_forwards_replace(forwards)) ==
        std::vector<std::string>{
            R"({"flush":{"chain":{"family":"inet","table":"qmd","name":"portforwards"}}})",
            R"({"add":{"rule":{"family":"inet","table":"qmd","chain":"portforwards","expr":[)"
            R"({"match":{"op":"==","left":{"payload":{"protocol":"tcp","field":"dport"}},"right":8080}},)"
            R"({"dnat":{"family":"ip","addr":"10.91.0.5","port":80}}]}}})",
            R"({"add":{"rule":{"family":"inet","table":"qmd","chain":"portforwards","expr":[)"
            R"({"match":{"op":"==","left":{"payload":{"protocol":"udp","field":"dport"}},"right":5353}},)"
            R"({"dnat":{"family":"ip","addr":"10.91.0.6","port":53}}]}}})"});
}

TEST_CASE("a guest's guard: its MAC, its IPv4, DHCP from 0.0.0.0 with its own chaddr, ARP as itself, no DHCP server") {
  const auto c = commands(guard_add({"tap-1234abcd", "02:00:00:00:00:01", *parse_ipv4("10.91.0.2")}));
  const std::string r = R"({"add":{"rule":{"family":"bridge","table":"qmd","chain":"vm-tap-1234abcd","expr":[)";
  CHECK(c == std::vector<std::string>{
                 R"({"add":{"chain":{"family":"bridge","table":"qmd","name":"vm-tap-1234abcd"}}})",
                 R"({"flush":{"chain":{"family":"bridge","table":"qmd","name":"vm-tap-1234abcd"}}})",
                 r + R"({"match":{"op":"!=","left":{"payload":{"protocol":"ether","field":"saddr"}},"right":"02:00:00:00:00:01"}},{"drop":null}]}}})",
                 r + R"({"match":{"op":"!=","left":{"payload":{"protocol":"arp","field":"saddr ether"}},"right":"02:00:00:00:00:01"}},{"drop":null}]}}})",
                 r + R"({"match":{"op":"!=","left":{"payload":{"protocol":"arp","field":"saddr ip"}},"right":{"set":["0.0.0.0","10.91.0.2"]}}},{"drop":null}]}}})",
                 r + R"({"match":{"op":"==","left":{"payload":{"protocol":"ether","field":"type"}},"right":"arp"}},{"accept":null}]}}})",
                 r + R"({"match":{"op":"==","left":{"payload":{"protocol":"ether","field":"type"}},"right":"ip"}},)"
                     R"({"match":{"op":"==","left":{"payload":{"protocol":"udp","field":"sport"}},"right":67}},{"drop":null}]}}})",
                 r + R"({"match":{"op":"==","left":{"payload":{"protocol":"ether","field":"type"}},"right":"ip"}},)"
                     R"({"match":{"op":"==","left":{"payload":{"protocol":"udp","field":"dport"}},"right":68}},{"drop":null}]}}})",
                 // chaddr (UDP header + 28 bytes) must be 02:00:00:00:00:01 = 0x020000000001
                 r + R"({"match":{"op":"==","left":{"payload":{"protocol":"udp","field":"dport"}},"right":67}},)"
                     R"({"match":{"op":"!=","left":{"payload":{"base":"th","offset":288,"len":48}},"right":2199023255553}},{"drop":null}]}}})",
                 r + R"({"match":{"op":"==","left":{"payload":{"protocol":"ip","field":"saddr"}},"right":"10.91.0.2"}},{"accept":null}]}}})",
                 r + R"({"match":{"op":"==","left":{"payload":{"protocol":"ip","field":"saddr"}},"right":"0.0.0.0"}},)"
                     R"({"match":{"op":"==","left":{"payload":{"protocol":"udp","field":"sport"}},"right":68}},)"
                     R"({"match":{"op":"==","left":{"payload":{"protocol":"udp","field":"dport"}},"right":67}},{"accept":null}]}}})",
                 r + R"({"drop":null}]}}})",
                 R"({"add":{"element":{"family":"bridge","table":"qmd","name":"ports","elem":[["tap-1234abcd",{"jump":{"target":"vm-tap-1234abcd"}}]]}}})",
                 R"({"add":{"element":{"family":"bridge","table":"qmd","name":"nat_taps","elem":["tap-1234abcd"]}}})"});
}

TEST_CASE("chaddr: a MAC as the 48-bit number nft compares, whatever the case of its digits") {
  const auto c = commands(guard_add({"t", "52:54:61:62:63:6F", *parse_ipv4("10.91.0.2")}));
  CHECK(c.at(8).find(R"("right":90522364568431})") != std::string::npos);  // 0x52546162636f
}

TEST_CASE("set nat_taps: a tap leaves it alone, a stray port joins it") {
  CHECK(commands(tap_forget("tap-1")) ==
        std::vector<std::string>{
            R"({"delete":{"element":{"family":"bridge","table":"qmd","name":"nat_taps","elem":["tap-1"]}}})"});
  CHECK(commands(tap_remember("evil0")) ==
        std::vector<std::string>{
            R"({"add":{"element":{"family":"bridge","table":"qmd","name":"nat_taps","elem":["evil0"]}}})"});
  // Removing a guard keeps the tap in the set: it leaves only once off the bridge.
  for (const auto& step : commands(guard_remove("tap-1"))) {
    CHECK(step.find("nat_taps") == std::string::npos);
  }
}

TEST_CASE("joined: the batches' commands in order, one metainfo") {
  const auto c = commands(joined({guard_remove("tap-1"), port_forwards_replace({}), tap_forget("tap-1")}));
  REQUIRE(c.size() == 5);
  CHECK(c[0].find(R"("delete":{"element")") != std::string::npos);
  CHECK(c[3] == R"({"flush":{"chain":{"family":"inet","table":"qmd","name":"portforwards"}}})");
  CHECK(c[4].find("nat_taps") != std::string::npos);
}

TEST_CASE("removing a guard: element, then the emptied chain") {
  CHECK(commands(guard_remove("tap-1")) ==
        std::vector<std::string>{
            R"({"delete":{"element":{"family":"bridge","table":"qmd","name":"ports","elem":["tap-1"]}}})",
            R"({"flush":{"chain":{"family":"bridge","table":"qmd","name":"vm-tap-1"}}})",
            R"({"delete":{"chain":{"family":"bridge","table":"qmd","name":"vm-tap-1"}}})"});
  CHECK(guard_remove_steps("tap-1").size() == 3);
  CHECK(commands(one_command(guard_remove_steps("tap-1")[0])).size() == 1);
}

TEST_CASE("the tables: created afresh, qmd's own only, NAT of the CIDR out of other links") {
  const auto c = commands(nat_tables({"qmd0", *parse_cidr("10.91.0.0/24")}));
  REQUIRE(c.size() == 27);
  CHECK(c[0] == R"({"add":{"table":{"family":"inet","name":"qmd"}}})");
  CHECK(c[1] == R"({"delete":{"table":{"family":"inet","name":"qmd"}}})");
  CHECK(c[2] == R"({"add":{"table":{"family":"inet","name":"qmd"}}})");
  CHECK(c[5] == R"({"add":{"table":{"family":"bridge","name":"qmd"}}})");
  CHECK(c[6] == R"({"add":{"chain":{"family":"inet","table":"qmd","name":"postrouting","type":"nat","hook":"postrouting","prio":100,"policy":"accept"}}})");
  CHECK(c[10] == R"({"add":{"chain":{"family":"inet","table":"qmd","name":"input","type":"filter","hook":"input","prio":0,"policy":"accept"}}})");
  CHECK(c[12] == R"({"add":{"map":{"family":"bridge","table":"qmd","name":"ports","type":"ifname","map":"verdict"}}})");
  CHECK(c[13] == R"({"add":{"set":{"family":"bridge","table":"qmd","name":"nat_taps","type":"ifname"}}})");
  CHECK(c[14] == R"({"add":{"chain":{"family":"bridge","table":"qmd","name":"prerouting","type":"filter","hook":"prerouting","prio":-200,"policy":"accept"}}})");
  // Link-local (cloud metadata) from the bridge: neither to the host nor routed beyond it.
  for (const char* hook : {"input", "forward"}) {
    CAPTURE(hook);
    CHECK(std::find(c.begin(), c.end(),
                    std::string(R"({"add":{"rule":{"family":"inet","table":"qmd","chain":")") + hook +
                        R"(","expr":[{"match":{"op":"==","left":{"meta":{"key":"iifname"}},"right":"qmd0"}},)"
                        R"({"match":{"op":"==","left":{"payload":{"protocol":"ip","field":"daddr"}},"right":{"prefix":{"addr":"169.254.0.0","len":16}}}},{"drop":null}]}}})") != c.end());
  }
  CHECK(c[16].find(R"("chain":"forward")") != std::string::npos);  // before forward's accepts
  CHECK(c[17] ==
        R"({"add":{"rule":{"family":"inet","table":"qmd","chain":"postrouting","expr":[)"
        R"({"match":{"op":"==","left":{"payload":{"protocol":"ip","field":"saddr"}},"right":{"prefix":{"addr":"10.91.0.0","len":24}}}},)"
        R"({"match":{"op":"!=","left":{"payload":{"protocol":"ip","field":"daddr"}},"right":{"prefix":{"addr":"10.91.0.0","len":24}}}},)"
        R"({"match":{"op":"!=","left":{"meta":{"key":"oifname"}},"right":"qmd0"}},{"masquerade":null}]}}})");
  CHECK(c[25] == R"({"add":{"rule":{"family":"bridge","table":"qmd","chain":"prerouting","expr":[{"vmap":{"key":{"meta":{"key":"iifname"}},"data":"@ports"}}]}}})");
  // After the guards' map: a NAT tap without its guard passes nothing (fail closed).
  CHECK(c[26] == R"({"add":{"rule":{"family":"bridge","table":"qmd","chain":"prerouting","expr":[{"match":{"op":"==","left":{"meta":{"key":"iifname"}},"right":"@nat_taps"}},{"drop":null}]}}})");
  // Nothing outside table qmd.
  for (const auto& command : c) {
    CAPTURE(command);
    const auto v = json::parse(command).as_object();
    const auto& what = v.begin()->value().as_object().begin()->value().as_object();
    if (what.contains("table") && what.at("table").is_string()) {
      CHECK(what.at("table").as_string() == "qmd");
    } else {
      CHECK(what.at("name").as_string() == "qmd");
    }
  }
}

TEST_CASE("teardown: both tables") {
  CHECK(commands(tables_delete()) ==
        std::vector<std::string>{R"({"delete":{"table":{"family":"inet","name":"qmd"}}})",
                                 R"({"delete":{"table":{"family":"bridge","name":"qmd"}}})"});
}

TEST_CASE("the tables with IPv6: NAT66, forward and metadata drops beside the IPv4 ones") {
  const auto cidr = *parse_cidr("10.91.0.0/24");
  const auto v4 = commands(nat_tables({"qmd0", cidr}));
  auto v6 = commands(nat_tables({"qmd0", cidr, *parse_ula_prefix("fd12:3456:789a:1::/64")}));
  REQUIRE(v6.size() == v4.size() + 4);
  const std::string r = R"({"add":{"rule":{"family":"inet","table":"qmd","chain":)";
  const std::string p6 = R"({"prefix":{"addr":"fd12:3456:789a:1::","len":64}})";
  const std::vector<std::string> added{
      r + R"("input","expr":[{"match":{"op":"==","left":{"meta":{"key":"iifname"}},"right":"qmd0"}},)"
          R"({"match":{"op":"==","left":{"payload":{"protocol":"ip6","field":"daddr"}},"right":"fd00:ec2::254"}},{"drop":null}]}}})",
      r + R"("forward","expr":[{"match":{"op":"==","left":{"meta":{"key":"iifname"}},"right":"qmd0"}},)"
          R"({"match":{"op":"==","left":{"payload":{"protocol":"ip6","field":"daddr"}},"right":"fd00:ec2::254"}},{"drop":null}]}}})",
      r + R"("postrouting","expr":[{"match":{"op":"==","left":{"payload":{"protocol":"ip6","field":"saddr"}},"right":)" + p6 + "}},"
          R"({"match":{"op":"!=","left":{"payload":{"protocol":"ip6","field":"daddr"}},"right":)" + p6 + "}},"
          R"({"match":{"op":"!=","left":{"meta":{"key":"oifname"}},"right":"qmd0"}},{"masquerade":null}]}}})",
      r + R"("forward","expr":[{"match":{"op":"==","left":{"meta":{"key":"iifname"}},"right":"qmd0"}},)"
          R"({"match":{"op":"==","left":{"payload":{"protocol":"ip6","field":"saddr"}},"right":)" + p6 + "}},"
          R"({"accept":null}]}}})"};
  // In their places: the metadata drops after the link-local ones (before any accept), NAT66
  // and the forward accept right after the IPv4 accept.
  CHECK(v6[17] == added[0]);
  CHECK(v6[18] == added[1]);
  CHECK(v6[21] == added[2]);
  CHECK(v6[22] == added[3]);
  v6.erase(v6.begin() + 21, v6.begin() + 23);
  v6.erase(v6.begin() + 17, v6.begin() + 19);
  CHECK(v6 == v4);
}

TEST_CASE("a guest's guard with IPv6: its lease and EUI-64 link-local, ND for them, no RA") {
  const auto lease = address_in(*parse_ula_prefix("fd12:3456:789a:1::/64"), 2);
  const auto v4 = commands(guard_add({"tap-1234abcd", "02:00:00:00:00:01", *parse_ipv4("10.91.0.2")}));
  const auto v6 = commands(
      guard_add({"tap-1234abcd", "02:00:00:00:00:01", *parse_ipv4("10.91.0.2"), lease}));
  REQUIRE(v6.size() == v4.size() + 13);
  const std::string r = R"({"add":{"rule":{"family":"bridge","table":"qmd","chain":"vm-tap-1234abcd","expr":[)";
  const std::string own = R"({"set":["0xfd123456789a00010000000000000002","0xfe80000000000000000000fffe000001"]})";
  const std::string icmp = R"({"payload":{"protocol":"icmpv6","field":"type"}})";
  const std::string saddr = R"({"payload":{"protocol":"ip6","field":"saddr"}})";
  const std::string target = R"({"payload":{"base":"th","offset":64,"len":128}})";
  const std::string unspecified = R"({"match":{"op":"==","left":)" + saddr + R"(,"right":{"set":["::"]}}},)";
  const std::vector<std::string> ipv6{
      r + R"({"match":{"op":"==","left":{"payload":{"protocol":"ether","field":"type"}},"right":"ip6"}},)"
          R"({"match":{"op":"==","left":{"payload":{"protocol":"udp","field":"sport"}},"right":547}},{"drop":null}]}}})",
      r + R"({"match":{"op":"==","left":{"payload":{"protocol":"ether","field":"type"}},"right":"ip6"}},)"
          R"({"match":{"op":"==","left":{"payload":{"protocol":"udp","field":"dport"}},"right":546}},{"drop":null}]}}})",
      r + R"({"match":{"op":"==","left":)" + icmp + R"(,"right":{"set":["nd-router-advert","nd-redirect"]}}},{"drop":null}]}}})",
      r + R"({"match":{"op":"!=","left":)" + saddr +
          R"(,"right":{"set":["fd12:3456:789a:1::2","fe80::ff:fe00:1","::"]}}},{"drop":null}]}}})",
      r + unspecified + R"({"match":{"op":"!=","left":{"meta":{"key":"l4proto"}},"right":58}},{"drop":null}]}}})",
      r + unspecified + R"({"match":{"op":"!=","left":)" + icmp +
          R"(,"right":{"set":["nd-neighbor-solicit","mld2-listener-report"]}}},{"drop":null}]}}})",
      r + R"({"match":{"op":"==","left":)" + icmp + R"(,"right":"nd-neighbor-advert"}},)"
          R"({"match":{"op":"!=","left":)" + target + R"(,"right":)" + own + R"(}},{"drop":null}]}}})",
      r + unspecified + R"({"match":{"op":"==","left":)" + icmp + R"(,"right":"nd-neighbor-solicit"}},)"
          R"({"match":{"op":"!=","left":)" + target + R"(,"right":)" + own + R"(}},{"drop":null}]}}})",
      r + R"({"match":{"op":"==","left":)" + icmp + R"(,"right":{"set":["nd-neighbor-solicit","nd-neighbor-advert"]}}},)"
          R"({"match":{"op":"!=","left":{"payload":{"protocol":"ip6","field":"length"}},"right":{"set":[24,32]}}},{"drop":null}]}}})",
      r + R"({"match":{"op":"==","left":)" + icmp + R"(,"right":"nd-router-solicit"}},)"
          R"({"match":{"op":"!=","left":{"payload":{"protocol":"ip6","field":"length"}},"right":{"set":[8,16]}}},{"drop":null}]}}})",
      r + R"({"match":{"op":"==","left":)" + icmp + R"(,"right":"nd-router-solicit"}},)"
          R"({"match":{"op":"==","left":{"payload":{"base":"th","offset":64,"len":8}},"right":1}},)"
          R"({"match":{"op":"!=","left":{"payload":{"base":"th","offset":80,"len":48}},"right":2199023255553}},{"drop":null}]}}})",
      r + R"({"match":{"op":"==","left":)" + icmp + R"(,"right":{"set":["nd-neighbor-solicit","nd-neighbor-advert"]}}},)"
          R"({"match":{"op":"==","left":{"payload":{"base":"th","offset":192,"len":8}},"right":{"set":[1,2]}}},)"
          R"({"match":{"op":"!=","left":{"payload":{"base":"th","offset":208,"len":48}},"right":2199023255553}},{"drop":null}]}}})",
      r + R"({"match":{"op":"==","left":{"payload":{"protocol":"ether","field":"type"}},"right":"ip6"}},{"accept":null}]}}})"};
  // The IPv4 guard's rules, then the IPv6 ones, then the final drop and the elements.
  const std::size_t at = v4.size() - 3;
  CHECK(std::vector<std::string>(v6.begin(), v6.begin() + static_cast<long>(at)) ==
        std::vector<std::string>(v4.begin(), v4.begin() + static_cast<long>(at)));
  CHECK(std::vector<std::string>(v6.begin() + static_cast<long>(at),
                                 v6.begin() + static_cast<long>(at + 13)) == ipv6);
  CHECK(std::vector<std::string>(v6.end() - 3, v6.end()) ==
        std::vector<std::string>(v4.end() - 3, v4.end()));
  CHECK(v6[at + 13] == r + R"({"drop":null}]}}})");
}
