#include "daemon/network/nft_tables.hpp"

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>

#include "daemon/network/nft_rules.hpp"

namespace qmd::daemon::network {

namespace json = boost::json;

namespace {

void rename_tables(json::value& value, const std::string& table) {
  if (auto* array = value.if_array()) {
    for (auto& item : *array) {
      rename_tables(item, table);
    }
    return;
  }
  auto* object = value.if_object();
  if (object == nullptr) {
    return;
  }
  for (auto& [key, item] : *object) {
    if (key != "table") {
      rename_tables(item, table);
    } else if (item.is_string() && item.get_string() == kTemplateTable) {
      item = json::string(table);  // a chain, rule, map or element: {"table": "qmd", ...}
    } else if (auto* t = item.if_object(); t && t->contains("name")) {
      auto& name = (*t)["name"];
      if (name.is_string() && name.get_string() == kTemplateTable) {
        name = json::string(table);  // a table itself: {"table": {"family": ..., "name": "qmd"}}
      }
    }
  }
}

json::object command(const char* verb, const char* kind, json::object what) {
  return {{verb, json::object{{kind, std::move(what)}}}};
}

json::object match(const char* op, json::value left, json::value right) {
  return {{"match",
           json::object{{"op", op}, {"left", std::move(left)}, {"right", std::move(right)}}}};
}

json::object payload(const char* protocol, const char* field) {
  return {{"payload", json::object{{"protocol", protocol}, {"field", field}}}};
}

json::object iface(const char* key) { return {{"meta", json::object{{"key", key}}}}; }

json::object rule(const char* family, const std::string& chain, json::array expr) {
  return command("add", "rule",
                 {{"family", family}, {"table", kTemplateTable}, {"chain", chain},
                  {"expr", std::move(expr)}});
}

json::object base_chain(const char* family, const char* name, const char* type, const char* hook,
                        int prio) {
  return {{"family", family}, {"table", kTemplateTable}, {"name", name}, {"type", type},
          {"hook", hook},     {"prio", prio},       {"policy", "accept"}};
}

json::object drop() { return {{"drop", nullptr}}; }

// Without NAT: the bridge's guards, and no routing in or out of it.
json::array plain_commands(const TablesPlan& p) {
  json::array c;
  for (const char* family : {"inet", "bridge"}) {
    const json::object t{{"family", family}, {"name", kTemplateTable}};
    c.push_back(command("add", "table", t));
    c.push_back(command("delete", "table", t));
    c.push_back(command("add", "table", t));
  }
  c.push_back(command("add", "chain", base_chain("inet", "forward", "filter", "forward", 0)));
  c.push_back(rule("inet", "forward", {match("==", iface("iifname"), json::string(p.bridge)),
                                       drop()}));
  c.push_back(rule("inet", "forward", {match("==", iface("oifname"), json::string(p.bridge)),
                                       drop()}));
  c.push_back(command("add", "map",
                      {{"family", "bridge"}, {"table", kTemplateTable}, {"name", "ports"},
                       {"type", "ifname"}, {"map", "verdict"}}));
  c.push_back(command("add", "set",
                      {{"family", "bridge"}, {"table", kTemplateTable}, {"name", "nat_taps"},
                       {"type", "ifname"}}));
  c.push_back(command("add", "chain",
                      base_chain("bridge", "prerouting", "filter", "prerouting", -200)));
  c.push_back(rule("bridge", "prerouting",
                   {json::object{{"vmap", json::object{{"key", iface("iifname")},
                                                       {"data", "@ports"}}}}}));
  // A guest's tap without its guard (taken out, or not yet back): nothing passes, as on
  // the NAT network.
  c.push_back(rule("bridge", "prerouting",
                   {match("==", iface("iifname"), json::string("@nat_taps")), drop()}));
  return c;
}

}  // namespace

std::string table_for_bridge(const std::string& bridge) {
  return std::string(kTemplateTable) + "-" + bridge;
}

json::object in_table(json::object batch, const std::string& table) {
  if (table == kTemplateTable) {
    return batch;
  }
  json::value all(std::move(batch));
  rename_tables(all, table);
  return std::move(all.as_object());
}

json::object network_tables(const TablesPlan& p) {
  if (p.nat && p.cidr) {
    return in_table(nat_tables({p.bridge, *p.cidr, p.ipv6}), p.table);
  }
  json::array all;
  all.push_back(json::object{{"metainfo", json::object{{"json_schema_version", 1}}}});
  for (auto& c : plain_commands(p)) {
    all.push_back(std::move(c));
  }
  return in_table(json::object{{"nftables", std::move(all)}}, p.table);
}

json::object mac_guard_add(const std::string& table, const std::string& tap,
                           const std::string& mac) {
  const std::string name = guard_chain(tap);
  const json::object chain{{"family", "bridge"}, {"table", kTemplateTable}, {"name", name}};
  json::array c;
  c.push_back(json::object{{"metainfo", json::object{{"json_schema_version", 1}}}});
  c.push_back(command("add", "chain", chain));
  c.push_back(command("flush", "chain", chain));
  c.push_back(rule("bridge", name, {match("!=", payload("ether", "saddr"), json::string(mac)),
                                    drop()}));
  c.push_back(rule("bridge", name,
                   {match("!=", payload("arp", "saddr ether"), json::string(mac)), drop()}));
  c.push_back(rule("bridge", name, {match("==", payload("ether", "type"), "ip"),
                                    match("==", payload("udp", "sport"), 67), drop()}));
  // No DHCP or DHCPv6 server from another port either, and no IPv6 router of its own.
  c.push_back(rule("bridge", name, {match("==", payload("ether", "type"), "ip"),
                                    match("==", payload("udp", "dport"), 68), drop()}));
  c.push_back(rule("bridge", name, {match("==", payload("ether", "type"), "ip6"),
                                    match("==", payload("udp", "sport"), 547), drop()}));
  c.push_back(rule("bridge", name, {match("==", payload("ether", "type"), "ip6"),
                                    match("==", payload("udp", "dport"), 546), drop()}));
  c.push_back(rule("bridge", name,
                   {match("==", payload("icmpv6", "type"),
                          json::object{{"set", json::array{"nd-router-advert", "nd-redirect"}}}),
                    drop()}));
  // Its own MAC, no DHCP server: it passes (prerouting's @nat_taps drop is for taps without
  // a guard).
  c.push_back(rule("bridge", name, {json::object{{"accept", nullptr}}}));
  c.push_back(command("add", "element",
                      {{"family", "bridge"},
                       {"table", kTemplateTable},
                       {"name", "ports"},
                       {"elem", json::array{json::array{json::string(tap),
                                                        json::object{{"jump", json::object{
                                                                         {"target", name}}}}}}}}));
  c.push_back(command("add", "element",
                      {{"family", "bridge"},
                       {"table", kTemplateTable},
                       {"name", "nat_taps"},
                       {"elem", json::array{json::string(tap)}}}));
  return in_table(json::object{{"nftables", std::move(c)}}, table);
}

namespace {

// {"rule": {"family": ..., "chain": ..., ...}} counted into `out`.
void count_rule(const json::value& rule, RuleCounts& out) {
  const auto* r = rule.if_object();
  if (r == nullptr) {
    return;
  }
  const auto* family = r->if_contains("family");
  const auto* chain = r->if_contains("chain");
  if (family && family->is_string() && chain && chain->is_string()) {
    ++out[std::string(family->as_string()) + " " + std::string(chain->as_string())];
  }
}

}  // namespace

RuleCounts rules_added(const json::object& batch) {
  RuleCounts out;
  const auto* all = batch.if_contains("nftables");
  if (all == nullptr || !all->is_array()) {
    return out;
  }
  for (const auto& item : all->as_array()) {
    const auto* add = item.is_object() ? item.as_object().if_contains("add") : nullptr;
    if (const auto* rule = add && add->is_object() ? add->as_object().if_contains("rule")
                                                   : nullptr) {
      count_rule(*rule, out);
    }
  }
  return out;
}

RuleCounts rules_listed(std::string_view listing) {
  RuleCounts out;
  boost::system::error_code ec;
  const json::value parsed = json::parse(listing, ec);
  const auto* all = !ec && parsed.is_object() ? parsed.as_object().if_contains("nftables")
                                              : nullptr;
  if (all == nullptr || !all->is_array()) {
    return out;
  }
  for (const auto& item : all->as_array()) {
    if (const auto* rule = item.is_object() ? item.as_object().if_contains("rule") : nullptr) {
      count_rule(*rule, out);
    }
  }
  return out;
}

bool rules_missing(const RuleCounts& want, const RuleCounts& have) {
  for (const auto& [chain, count] : want) {
    const auto found = have.find(chain);
    if (found == have.end() || found->second < count) {
      return true;
    }
  }
  return false;
}

}  // namespace qmd::daemon::network
