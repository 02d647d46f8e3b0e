#include <doctest/doctest.h>

#include <boost/json/serialize.hpp>
#include <set>

#include "daemon/network/nft_rules.hpp"
#include "daemon/network/nft_tables.hpp"

using namespace qmd::daemon::network;
namespace json = boost::json;

namespace {

std::vector<std::string> commands(const json::object& batch) {
  std::vector<std::string> out;
  const auto& all = batch.at("nftables").as_array();
  REQUIRE(json::serialize(all.at(0)) == R"({"metainfo":{"json_schema_version":1}})");
  for (std::size_t i = 1; i < all.size(); ++i) {
    out.push_back(json::serialize(all[i]));
  }
  return out;
}

// Every table a batch names, as "family name" (tables themselves and the objects in them).
std::set<std::string> tables_named(const json::value& v) {
  std::set<std::string> out;
  if (const auto* a = v.if_array()) {
    for (const auto& item : *a) {
      out.merge(tables_named(item));
    }
  } else if (const auto* o = v.if_object()) {
    for (const auto& [key, item] : *o) {
      if (key == "table" && item.is_string()) {
        out.insert(std::string(o->at("family").as_string()) + " " +
                   std::string(item.as_string()));
      } else if (key == "table" && item.is_object() && item.as_object().contains("name")) {
        out.insert(std::string(item.at("family").as_string()) + " " +
                   std::string(item.at("name").as_string()));
      } else {
        out.merge(tables_named(item));
      }
    }
  }
  return out;
}

}  // namespace

TEST_CASE("every network's tables are named after its bridge, never the template's") {
  CHECK(table_for_bridge("qmd0") == "qmd-qmd0");  // the NAT network's default bridge
  CHECK(table_for_bridge("qmdlab") == "qmd-qmdlab");
  CHECK(table_for_bridge("qmd1") != table_for_bridge("qmd0"));
  CHECK(table_for_bridge("qmd0") != kTemplateTable);  // what older qmds' NAT network used
}

TEST_CASE("in_table moves every table reference of a batch, and nothing else") {
  const auto cidr = *parse_cidr("10.92.0.0/24");
  const json::value moved = in_table(nat_tables({"qmd", cidr}), "qmd-lab");
  CHECK(tables_named(moved) == std::set<std::string>{"inet qmd-lab", "bridge qmd-lab"});
  // The bridge named "qmd" (an oifname) is not a table: it stays.
  CHECK(json::serialize(moved).find(R"("right":"qmd")") != std::string::npos);
  const json::value guard =
      in_table(guard_add({"tap-1", "02:00:00:00:00:01", *parse_ipv4("10.92.0.2")}), "qmd-lab");
  CHECK(tables_named(guard) == std::set<std::string>{"bridge qmd-lab"});
  CHECK(in_table(guard_remove("tap-1"), "qmd") == guard_remove("tap-1"));
}

TEST_CASE("a bridge network with NAT has the NAT network's rules in its own tables") {
  const auto cidr = *parse_cidr("10.92.0.0/24");
  const auto tables = network_tables({"qmd-qmdlab", "qmdlab", cidr, true});
  CHECK(tables == in_table(nat_tables({"qmdlab", cidr}), "qmd-qmdlab"));
  // With IPv6: NAT66 too.
  const auto ula = *parse_ula_prefix("fd12:3456:789a:2::/64");
  CHECK(network_tables({"qmd-qmdlab", "qmdlab", cidr, true, ula}) ==
        in_table(nat_tables({"qmdlab", cidr, ula}), "qmd-qmdlab"));
  CHECK(network_tables({"qmd-qmdlab", "qmdlab", cidr, true, ula}) != tables);
}

TEST_CASE("a bridge network without NAT: guards, and nothing routed in or out") {
  const auto c = commands(network_tables({"qmd-qmdlab", "qmdlab", std::nullopt, false}));
  const std::vector<std::string> want{
      R"({"add":{"table":{"family":"inet","name":"qmd-qmdlab"}}})",
      R"({"delete":{"table":{"family":"inet","name":"qmd-qmdlab"}}})",
      R"({"add":{"table":{"family":"inet","name":"qmd-qmdlab"}}})",
      R"({"add":{"table":{"family":"bridge","name":"qmd-qmdlab"}}})",
      R"({"delete":{"table":{"family":"bridge","name":"qmd-qmdlab"}}})",
      R"({"add":{"table":{"family":"bridge","name":"qmd-qmdlab"}}})",
      R"({"add":{"chain":{"family":"inet","table":"qmd-qmdlab","name":"forward","type":"filter",)"
      R"("hook":"forward","prio":0,"policy":"accept"}}})",
      R"({"add":{"rule":{"family":"inet","table":"qmd-qmdlab","chain":"forward","expr":[{"match":)"
      R"({"op":"==","left":{"meta":{"key":"iifname"}},"right":"qmdlab"}},{"drop":null}]}}})",
      R"({"add":{"rule":{"family":"inet","table":"qmd-qmdlab","chain":"forward","expr":[{"match":)"
      R"({"op":"==","left":{"meta":{"key":"oifname"}},"right":"qmdlab"}},{"drop":null}]}}})",
      R"({"add":{"map":{"family":"bridge","table":"qmd-qmdlab","name":"ports","type":"ifname",)"
      R"("map":"verdict"}}})",
      R"({"add":{"set":{"family":"bridge","table":"qmd-qmdlab","name":"nat_taps","type":)"
      R"("ifname"}}})",
      R"({"add":{"chain":{"family":"bridge","table":"qmd-qmdlab","name":"prerouting","type":)"
      R"("filter","hook":"prerouting","prio":-200,"policy":"accept"}}})",
      R"({"add":{"rule":{"family":"bridge","table":"qmd-qmdlab","chain":"prerouting","expr":[)"
      R"({"vmap":{"key":{"meta":{"key":"iifname"}},"data":"@ports"}}]}}})",
      // a guest's tap without its guard: nothing passes
      R"({"add":{"rule":{"family":"bridge","table":"qmd-qmdlab","chain":"prerouting","expr":[)"
      R"({"match":{"op":"==","left":{"meta":{"key":"iifname"}},"right":"@nat_taps"}},)"
      R"({"drop":null}]}}})"};
  CHECK(c == want);
}

TEST_CASE("the MAC guard of a guest qmd gives no address: its MAC, as ether and ARP sender") {
  const auto c = commands(mac_guard_add("qmd-qmdlab", "tap-1", "02:00:00:00:00:01"));
  const std::string r =
      R"({"add":{"rule":{"family":"bridge","table":"qmd-qmdlab","chain":"vm-tap-1","expr":[)";
  CHECK(c == std::vector<std::string>{
                 R"({"add":{"chain":{"family":"bridge","table":"qmd-qmdlab","name":"vm-tap-1"}}})",
                 R"({"flush":{"chain":{"family":"bridge","table":"qmd-qmdlab","name":"vm-tap-1"}}})",
                 r + R"({"match":{"op":"!=","left":{"payload":{"protocol":"ether","field":"saddr"}},)"
                     R"("right":"02:00:00:00:00:01"}},{"drop":null}]}}})",
                 r + R"({"match":{"op":"!=","left":{"payload":{"protocol":"arp","field":"saddr ether"}},)"
                     R"("right":"02:00:00:00:00:01"}},{"drop":null}]}}})",
                 r + R"({"match":{"op":"==","left":{"payload":{"protocol":"ether","field":"type"}},)"
                     R"("right":"ip"}},{"match":{"op":"==","left":{"payload":{"protocol":"udp",)"
                     R"("field":"sport"}},"right":67}},{"drop":null}]}}})",
                 r + R"({"match":{"op":"==","left":{"payload":{"protocol":"ether","field":"type"}},)"
                     R"("right":"ip"}},{"match":{"op":"==","left":{"payload":{"protocol":"udp",)"
                     R"("field":"dport"}},"right":68}},{"drop":null}]}}})",
                 r + R"({"match":{"op":"==","left":{"payload":{"protocol":"ether","field":"type"}},)"
                     R"("right":"ip6"}},{"match":{"op":"==","left":{"payload":{"protocol":"udp",)"
                     R"("field":"sport"}},"right":547}},{"drop":null}]}}})",
                 r + R"({"match":{"op":"==","left":{"payload":{"protocol":"ether","field":"type"}},)"
                     R"("right":"ip6"}},{"match":{"op":"==","left":{"payload":{"protocol":"udp",)"
                     R"("field":"dport"}},"right":546}},{"drop":null}]}}})",
                 r + R"({"match":{"op":"==","left":{"payload":{"protocol":"icmpv6","field":"type"}},)"
                     R"("right":{"set":["nd-router-advert","nd-redirect"]}}},{"drop":null}]}}})",
                 r + R"({"accept":null}]}}})",
                 R"({"add":{"element":{"family":"bridge","table":"qmd-qmdlab","name":"ports","elem":)"
                 R"([["tap-1",{"jump":{"target":"vm-tap-1"}}]]}}})",
                 R"({"add":{"element":{"family":"bridge","table":"qmd-qmdlab","name":"nat_taps",)"
                 R"("elem":["tap-1"]}}})"});
}

TEST_CASE("rules per chain: a batch's adds, a listing's rules, and which are missing") {
  const auto cidr = *parse_cidr("10.91.0.0/24");
  const auto batch = in_table(nat_tables({"qmd0", cidr}), "qmd-qmd0");
  const RuleCounts want = rules_added(batch);
  CHECK(want.at("bridge prerouting") == 2);  // the vmap to the guards, the @nat_taps drop
  CHECK(want.contains("inet postrouting"));
  CHECK_FALSE(want.contains("bridge ports"));  // a map, not a chain
  const RuleCounts guard = rules_added(guard_add({"tap-1", "02:00:00:00:00:01",
                                                  *parse_ipv4("10.91.0.2")}));
  CHECK(guard.size() == 1);
  CHECK(guard.begin()->first == "bridge vm-tap-1");

  // What `nft -j list table bridge qmd-qmd0` shows after `nft flush table`: chains, no rules.
  const char* flushed = R"({"nftables": [{"metainfo": {"json_schema_version": 1}},
    {"table": {"family": "bridge", "name": "qmd-qmd0", "handle": 3}},
    {"map": {"family": "bridge", "name": "ports", "table": "qmd-qmd0", "type": "ifname",
             "handle": 2, "map": "verdict"}},
    {"chain": {"family": "bridge", "table": "qmd-qmd0", "name": "prerouting", "handle": 4}}]})";
  CHECK(rules_listed(flushed).empty());
  CHECK(rules_missing(want, rules_listed(flushed)));
  const char* whole = R"({"nftables": [{"metainfo": {"json_schema_version": 1}},
    {"rule": {"family": "bridge", "table": "qmd-qmd0", "chain": "prerouting", "handle": 5,
              "expr": [{"drop": null}]}},
    {"rule": {"family": "bridge", "table": "qmd-qmd0", "chain": "prerouting", "handle": 6,
              "expr": [{"drop": null}]}}]})";
  CHECK(rules_listed(whole) == RuleCounts{{"bridge prerouting", 2}});
  CHECK(rules_listed("not json").empty());

  RuleCounts have = want;
  CHECK_FALSE(rules_missing(want, have));
  ++have["bridge prerouting"];  // an operator's rule inserted: no loss
  CHECK_FALSE(rules_missing(want, have));
  have["bridge prerouting"] = 1;  // one deleted
  CHECK(rules_missing(want, have));
  have = want;
  have.erase("inet postrouting");  // a chain emptied or gone
  CHECK(rules_missing(want, have));
}
