// Tables `qmd` an older qmd's NAT network left: which are nobody's.
#include <doctest/doctest.h>

#include <set>
#include <string>

#include "daemon/network/legacy_tables.hpp"

using namespace qmd::daemon::network;

namespace {

// What `nft -j list table inet qmd` printed for an older qmd's NAT network on qmd0 (trimmed).
const char* kListing = R"({"nftables": [
{"metainfo": {"version": "1.0.6", "json_schema_version": 1}},
{"table": {"family": "inet", "name": "qmd", "handle": 7}},
{"chain": {"family": "inet", "table": "qmd", "name": "forward", "handle": 3, "type": "filter",
 "hook": "forward", "prio": 0, "policy": "accept"}},
{"rule": {"family": "inet", "table": "qmd", "chain": "forward", "handle": 9, "expr": [
 {"match": {"op": "==", "left": {"meta": {"key": "iifname"}}, "right": "qmd0"}},
 {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}},
  "right": {"prefix": {"addr": "10.91.0.0", "len": 24}}}}, {"accept": null}]}},
{"rule": {"family": "inet", "table": "qmd", "chain": "postrouting", "handle": 10, "expr": [
 {"match": {"op": "!=", "left": {"meta": {"key": "oifname"}}, "right": "qmd0"}},
 {"masquerade": null}]}},
{"rule": {"family": "bridge", "table": "qmd", "chain": "prerouting", "handle": 11, "expr": [
 {"match": {"op": "==", "left": {"meta": {"key": "iifname"}}, "right": "@nat_taps"}},
 {"drop": null}]}}]})";

bool none_exist(const std::string&) { return false; }
bool all_exist(const std::string&) { return true; }

}  // namespace

TEST_CASE("the interfaces an older qmd's table matches on are its bridge's") {
  CHECK(interfaces_named(kListing) == std::set<std::string>{"qmd0"});
  CHECK_FALSE(interfaces_named("not json").has_value());  // unknown, not "names nothing"
  CHECK(interfaces_named(R"({"nftables": []})") == std::set<std::string>{});
}

TEST_CASE("tables qmd are nobody's unless they name another bridge that is there") {
  const std::set<std::string> qmd0{"qmd0"};
  // This very network's, left by an older qmd (this qmd holds qmd0's lock): removed.
  CHECK(legacy_tables_nobodys(qmd0, "qmd0", all_exist));
  // Another network's whose bridge is gone: removed.
  CHECK(legacy_tables_nobodys(qmd0, "qmd1", none_exist));
  // Another network's whose bridge is there: an older qmd may run it; left alone.
  CHECK_FALSE(legacy_tables_nobodys(qmd0, "qmd1", all_exist));
  // An inet table that could not be read (nft failed, a warning in its output): left alone.
  CHECK_FALSE(legacy_tables_nobodys(std::nullopt, "qmd1", all_exist));
  CHECK_FALSE(legacy_tables_nobodys(std::nullopt, "qmd1", none_exist));
  // No inet table (only the bridge one; an older qmd keeps both), or one naming nothing
  // (emptied): nobody's.
  CHECK(legacy_tables_nobodys(std::set<std::string>{}, "qmd1", all_exist));
}
