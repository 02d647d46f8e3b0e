#include "daemon/network/nft_rules.hpp"

#include <boost/json/array.hpp>

namespace qmd::daemon::network {

namespace json = boost::json;

namespace {

constexpr const char* kTable = "qmd";

json::object batch(json::array commands) {
  json::array all;
  all.push_back(json::object{{"metainfo", json::object{{"json_schema_version", 1}}}});
  for (auto& c : commands) {
    all.push_back(std::move(c));
  }
  return json::object{{"nftables", std::move(all)}};
}

json::object table(const char* family) { return {{"family", family}, {"name", kTable}}; }

json::object base_chain(const char* family, const char* name, const char* type,
                        const char* hook, int prio) {
  return {{"family", family}, {"table", kTable}, {"name", name}, {"type", type},
          {"hook", hook},     {"prio", prio},    {"policy", "accept"}};
}

json::object chain(const char* family, const std::string& name) {
  return {{"family", family}, {"table", kTable}, {"name", name}};
}

json::object rule(const char* family, const std::string& chain_name, json::array expr) {
  return {{"add", json::object{{"rule", json::object{{"family", family},
                                                     {"table", kTable},
                                                     {"chain", chain_name},
                                                     {"expr", std::move(expr)}}}}}};
}

json::object match(const char* op, json::value left, json::value right) {
  return {{"match",
           json::object{{"op", op}, {"left", std::move(left)}, {"right", std::move(right)}}}};
}

json::object jump(const std::string& target) {
  return {{"jump", json::object{{"target", target}}}};
}

// An element of map `ports` (the key alone, or key and verdict).
json::object ports_element(json::value elem) {
  return {{"family", "bridge"}, {"table", kTable}, {"name", "ports"},
          {"elem", json::array{std::move(elem)}}};
}

// Set `nat_taps`: every tap qmd put on the bridge, until it has left it.
constexpr const char* kTapsSet = "nat_taps";

json::object taps_set() {
  return {{"family", "bridge"}, {"table", kTable}, {"name", kTapsSet}, {"type", "ifname"}};
}

json::object taps_element(const std::string& tap) {
  json::object set = taps_set();
  set.erase("type");
  set["elem"] = json::array{json::string(tap)};
  return set;
}

json::object payload(const char* protocol, const char* field) {
  return {{"payload", json::object{{"protocol", protocol}, {"field", field}}}};
}

json::object meta(const char* key) { return {{"meta", json::object{{"key", key}}}}; }

json::object prefix(const Ipv4Cidr& cidr) {
  return {{"prefix", json::object{{"addr", format_ipv4(cidr.network)}, {"len", cidr.prefix}}}};
}

json::object verdict(const char* which) { return {{which, nullptr}}; }

// BOOTP's chaddr: 28 bytes into the message, after the 8 of the UDP header.
constexpr int kChaddrBit = (8 + 28) * 8;
constexpr int kMacBits = 48;

json::object chaddr() {
  return {{"payload", json::object{{"base", "th"}, {"offset", kChaddrBit}, {"len", kMacBits}}}};
}

// A canonical MAC (aa:bb:cc:dd:ee:ff) as the 48-bit number nft compares raw payload with.
std::int64_t mac_number(const std::string& mac) {
  std::int64_t out = 0;
  for (char ch : mac) {
    if (ch == ':') {
      continue;
    }
    const int digit = ch <= '9' ? ch - '0' : (ch | 0x20) - 'a' + 10;
    out = out * 16 + digit;
  }
  return out;
}

// Link-local 169.254.0.0/16: where clouds serve instance metadata (and credentials) to the
// host. A guest reaches neither the host's own link-local addresses nor, routed, anyone's.
constexpr const char* kLinkLocal = "169.254.0.0";
constexpr int kLinkLocalLen = 16;

json::object link_local() {
  return {{"prefix", json::object{{"addr", kLinkLocal}, {"len", kLinkLocalLen}}}};
}

json::object prefix6(const Ipv6Prefix& p) {
  return {{"prefix", json::object{{"addr", format_ipv6(p.network)}, {"len", p.prefix}}}};
}

// Cloud metadata over IPv6 (EC2's fd00:ec2::254): routed by NAT66 to the host's side it
// would hand out the host's credentials, as 169.254.169.254 would over IPv4.
constexpr const char* kMetadata6 = "fd00:ec2::254";

// The IPv6 counterparts of nat_rules' IPv4 ones, in the same places.
void add_nat66(const NatRulesPlan& p, json::array& out, std::size_t after_link_local,
               std::size_t after_forward_accept) {
  const char* inet = "inet";
  json::array front;
  for (const char* hook : {"input", "forward"}) {
    front.push_back(rule(inet, hook,
                         {match("==", meta("iifname"), json::string(p.bridge)),
                          match("==", payload("ip6", "daddr"), kMetadata6), verdict("drop")}));
  }
  const json::object masquerade = rule(inet, "postrouting",
                     {match("==", payload("ip6", "saddr"), prefix6(*p.ipv6)),
                      match("!=", payload("ip6", "daddr"), prefix6(*p.ipv6)),
                      match("!=", meta("oifname"), json::string(p.bridge)),
                      json::object{{"masquerade", nullptr}}});
  const json::object accept = rule(inet, "forward",
                     {match("==", meta("iifname"), json::string(p.bridge)),
                      match("==", payload("ip6", "saddr"), prefix6(*p.ipv6)),
                      verdict("accept")});
  out.insert(out.begin() + static_cast<std::ptrdiff_t>(after_forward_accept),
             {masquerade, accept});
  out.insert(out.begin() + static_cast<std::ptrdiff_t>(after_link_local), front.begin(),
             front.end());
}

json::array nat_rules(const NatRulesPlan& p) {
  json::array out;
  const char* inet = "inet";
  for (const char* hook : {"input", "forward"}) {
    out.push_back(rule(inet, hook,
                       {match("==", meta("iifname"), json::string(p.bridge)),
                        match("==", payload("ip", "daddr"), link_local()), verdict("drop")}));
  }
  // The guests' connections leave with the uplink's address.
  out.push_back(rule(inet, "postrouting",
                     {match("==", payload("ip", "saddr"), prefix(p.cidr)),
                      match("!=", payload("ip", "daddr"), prefix(p.cidr)),
                      match("!=", meta("oifname"), json::string(p.bridge)),
                      json::object{{"masquerade", nullptr}}}));
  // Forwarding: out from the guests, and back in only as replies or port forwards. Accepted
  // here; a drop elsewhere (another table's forward policy) still wins (docs/networking.md).
  out.push_back(rule(inet, "forward",
                     {match("==", meta("iifname"), json::string(p.bridge)),
                      match("==", payload("ip", "saddr"), prefix(p.cidr)),
                      verdict("accept")}));
  const std::size_t after_forward_accept = out.size();
  out.push_back(rule(inet, "forward",
                     {match("==", meta("oifname"), json::string(p.bridge)),
                      match("in", json::object{{"ct", json::object{{"key", "state"}}}},
                            json::array{"established", "related"}),
                      verdict("accept")}));
  out.push_back(rule(inet, "forward",
                     {match("==", meta("oifname"), json::string(p.bridge)),
                      match("in", json::object{{"ct", json::object{{"key", "status"}}}}, "dnat"),
                      verdict("accept")}));
  out.push_back(rule(inet, "forward",
                     {match("==", meta("oifname"), json::string(p.bridge)), verdict("drop")}));
  out.push_back(rule(inet, "forward",
                     {match("==", meta("iifname"), json::string(p.bridge)), verdict("drop")}));
  // Port forwards apply to packets for one of the host's own addresses, from outside
  // (prerouting) and from the host itself (output).
  for (const char* hook : {"prerouting", "output"}) {
    const json::object fib{
        {"fib", json::object{{"result", "type"}, {"flags", json::array{"daddr"}}}}};
    out.push_back(rule(inet, hook, {match("==", fib, "local"), jump("portforwards")}));
  }
  if (p.ipv6) {
    add_nat66(p, out, 2, after_forward_accept);
  }
  return out;
}

json::object icmpv6_type(const char* op, json::value types) {
  return match(op, payload("icmpv6", "type"), std::move(types));
}

json::object raw_th(int offset, int len) {
  return {{"payload", json::object{{"base", "th"}, {"offset", offset}, {"len", len}}}};
}

// A neighbour solicitation's or advertisement's target address: 8 bytes into the message
// (nft 1.0.6 has no name for it).
constexpr int kNdTargetBit = 8 * 8;
// The one link-layer address option such messages carry: type 1 (source) or 2 (target) at
// byte 24, the MAC at byte 26.
constexpr int kNdOptionTypeBit = 24 * 8;
constexpr int kNdOptionMacBit = 26 * 8;

// A guest's IPv6, before its guard's final drop: only from its lease, its EUI-64 link-local
// or, for duplicate address detection and MLD, ::; no router advertisements, redirects or
// DHCPv6 server replies; neighbour discovery only for its own addresses and with its MAC.
json::array ipv6_guard(const std::string& chain_name, const std::string& mac,
                       const Ipv6Address& lease) {
  const char* b = "bridge";
  const Ipv6Address ll = link_local_of(mac);
  const json::object own{{"set", json::array{json::string(format_ipv6(lease)),
                                             json::string(format_ipv6(ll))}}};
  const json::object own_numbers{{"set", json::array{json::string(nft_number(lease)),
                                                     json::string(nft_number(ll))}}};
  const json::object unspecified{{"set", json::array{"::"}}};
  const json::array nd{"nd-neighbor-solicit", "nd-neighbor-advert"};
  json::array out;
  out.push_back(rule(b, chain_name, {match("==", payload("ether", "type"), "ip6"),
                                     match("==", payload("udp", "sport"), 547),
                                     verdict("drop")}));
  out.push_back(rule(b, chain_name, {match("==", payload("ether", "type"), "ip6"),
                                     match("==", payload("udp", "dport"), 546),
                                     verdict("drop")}));
  out.push_back(rule(b, chain_name,
                     {icmpv6_type("==", json::object{{"set", json::array{"nd-router-advert",
                                                                         "nd-redirect"}}}),
                      verdict("drop")}));
  json::array sources = own.at("set").as_array();
  sources.push_back("::");
  out.push_back(rule(b, chain_name,
                     {match("!=", payload("ip6", "saddr"), json::object{{"set", sources}}),
                      verdict("drop")}));
  out.push_back(rule(b, chain_name, {match("==", payload("ip6", "saddr"), unspecified),
                                     match("!=", meta("l4proto"), 58), verdict("drop")}));
  out.push_back(rule(b, chain_name,
                     {match("==", payload("ip6", "saddr"), unspecified),
                      icmpv6_type("!=", json::object{{"set", json::array{
                                                           "nd-neighbor-solicit",
                                                           "mld2-listener-report"}}}),
                      verdict("drop")}));
  out.push_back(rule(b, chain_name, {icmpv6_type("==", "nd-neighbor-advert"),
                                     match("!=", raw_th(kNdTargetBit, 128), own_numbers),
                                     verdict("drop")}));
  out.push_back(rule(b, chain_name, {match("==", payload("ip6", "saddr"), unspecified),
                                     icmpv6_type("==", "nd-neighbor-solicit"),
                                     match("!=", raw_th(kNdTargetBit, 128), own_numbers),
                                     verdict("drop")}));
  // Neighbour discovery only in its plain sizes (no option, or exactly one, and no extension
  // header): a second option could carry another MAC past the check of the first below.
  out.push_back(rule(b, chain_name,
                     {icmpv6_type("==", json::object{{"set", nd}}),
                      match("!=", payload("ip6", "length"),
                            json::object{{"set", json::array{24, 32}}}),
                      verdict("drop")}));
  out.push_back(rule(b, chain_name,
                     {icmpv6_type("==", "nd-router-solicit"),
                      match("!=", payload("ip6", "length"),
                            json::object{{"set", json::array{8, 16}}}),
                      verdict("drop")}));
  // A router solicitation's one option starts right after its 8 bytes.
  out.push_back(rule(b, chain_name,
                     {icmpv6_type("==", "nd-router-solicit"),
                      match("==", raw_th(64, 8), 1),
                      match("!=", raw_th(80, kMacBits), mac_number(mac)), verdict("drop")}));
  out.push_back(rule(b, chain_name,
                     {icmpv6_type("==", json::object{{"set", nd}}),
                      match("==", raw_th(kNdOptionTypeBit, 8), json::object{{"set",
                                                                             json::array{1, 2}}}),
                      match("!=", raw_th(kNdOptionMacBit, kMacBits), mac_number(mac)),
                      verdict("drop")}));
  out.push_back(rule(b, chain_name, {match("==", payload("ether", "type"), "ip6"),
                                     verdict("accept")}));
  return out;
}

}  // namespace

std::string guard_chain(const std::string& tap) { return "vm-" + tap; }

json::object one_command(json::object command) {
  json::array c;
  c.push_back(std::move(command));
  return batch(std::move(c));
}

json::object nat_tables(const NatRulesPlan& plan) {
  json::array c;
  for (const char* family : {"inet", "bridge"}) {
    // add + delete + add: the table afresh whether it existed or not, in one transaction.
    c.push_back(json::object{{"add", json::object{{"table", table(family)}}}});
    c.push_back(json::object{{"delete", json::object{{"table", table(family)}}}});
    c.push_back(json::object{{"add", json::object{{"table", table(family)}}}});
  }
  const auto add_chain = [&c](json::object chain_object) {
    c.push_back(json::object{{"add", json::object{{"chain", std::move(chain_object)}}}});
  };
  add_chain(base_chain("inet", "postrouting", "nat", "postrouting", 100));
  add_chain(base_chain("inet", "prerouting", "nat", "prerouting", -100));
  add_chain(base_chain("inet", "output", "nat", "output", -100));
  add_chain(base_chain("inet", "forward", "filter", "forward", 0));
  add_chain(base_chain("inet", "input", "filter", "input", 0));
  add_chain(chain("inet", "portforwards"));
  c.push_back(json::object{
      {"add", json::object{{"map", json::object{{"family", "bridge"},
                                                {"table", kTable},
                                                {"name", "ports"},
                                                {"type", "ifname"},
                                                {"map", "verdict"}}}}}});
  c.push_back(json::object{{"add", json::object{{"set", taps_set()}}}});
  // Before the bridge's own processing: a spoofed frame is neither forwarded nor delivered.
  add_chain(base_chain("bridge", "prerouting", "filter", "prerouting", -200));
  for (auto& r : nat_rules(plan)) {
    c.push_back(std::move(r));
  }
  c.push_back(rule("bridge", "prerouting",
                   {json::object{{"vmap", json::object{{"key", meta("iifname")},
                                                       {"data", "@ports"}}}}}));
  // A NAT tap without its guard (taken out, or not yet back after a flush): nothing passes.
  c.push_back(rule("bridge", "prerouting",
                   {match("==", meta("iifname"), json::string("@nat_taps")), verdict("drop")}));
  return batch(std::move(c));
}

json::object guard_add(const GuestGuard& g) {
  const std::string name = guard_chain(g.tap);
  const std::string ip = format_ipv4(g.ipv4);
  json::array c;
  c.push_back(json::object{{"add", json::object{{"chain", chain("bridge", name)}}}});
  c.push_back(json::object{{"flush", json::object{{"chain", chain("bridge", name)}}}});
  const char* b = "bridge";
  c.push_back(rule(b, name, {match("!=", payload("ether", "saddr"), json::string(g.mac)),
                             verdict("drop")}));
  c.push_back(rule(b, name, {match("!=", payload("arp", "saddr ether"), json::string(g.mac)),
                             verdict("drop")}));
  // 0.0.0.0: an address probe (RFC 5227), which no neighbour learns from.
  c.push_back(rule(b, name, {match("!=", payload("arp", "saddr ip"),
                                   json::object{{"set", json::array{"0.0.0.0", json::string(ip)}}}),
                             verdict("drop")}));
  c.push_back(rule(b, name, {match("==", payload("ether", "type"), "arp"), verdict("accept")}));
  // A guest answering DHCP would hand the others its own router and DNS: dnsmasq alone serves.
  c.push_back(rule(b, name, {match("==", payload("ether", "type"), "ip"),
                             match("==", payload("udp", "sport"), 67), verdict("drop")}));
  // Nor from another port: a client reads any reply that reaches port 68.
  c.push_back(rule(b, name, {match("==", payload("ether", "type"), "ip"),
                             match("==", payload("udp", "dport"), 68), verdict("drop")}));
  // DHCP to a server speaks for the MAC in its chaddr: a RELEASE or DECLINE naming another
  // guest's would take that guest's address from it.
  c.push_back(rule(b, name, {match("==", payload("udp", "dport"), 67),
                             match("!=", chaddr(), mac_number(g.mac)), verdict("drop")}));
  c.push_back(rule(b, name, {match("==", payload("ip", "saddr"), json::string(ip)),
                             verdict("accept")}));
  c.push_back(rule(b, name, {match("==", payload("ip", "saddr"), "0.0.0.0"),
                             match("==", payload("udp", "sport"), 68),
                             match("==", payload("udp", "dport"), 67), verdict("accept")}));
  if (g.ipv6) {
    for (auto& r : ipv6_guard(name, g.mac, *g.ipv6)) {
      c.push_back(std::move(r));
    }
  }
  // Anything else: IPv6 without a lease, VLANs, other types.
  c.push_back(rule(b, name, {verdict("drop")}));
  c.push_back(json::object{
      {"add", json::object{{"element", ports_element(json::array{json::string(g.tap),
                                                                 jump(name)})}}}});
  c.push_back(json::object{{"add", json::object{{"element", taps_element(g.tap)}}}});
  return batch(std::move(c));
}

std::vector<json::object> guard_remove_steps(const std::string& tap) {
  const std::string name = guard_chain(tap);
  return {
      json::object{{"delete", json::object{{"element", ports_element(json::string(tap))}}}},
      json::object{{"flush", json::object{{"chain", chain("bridge", name)}}}},
      json::object{{"delete", json::object{{"chain", chain("bridge", name)}}}},
  };
}

json::object guard_remove(const std::string& tap) {
  json::array c;
  for (auto& step : guard_remove_steps(tap)) {
    c.push_back(std::move(step));
  }
  return batch(std::move(c));
}

json::object tap_remember(const std::string& tap) {
  return one_command(json::object{{"add", json::object{{"element", taps_element(tap)}}}});
}

json::object joined(std::vector<json::object> batches) {
  json::array c;
  for (auto& b : batches) {
    auto& commands = b.at("nftables").as_array();
    for (std::size_t i = 1; i < commands.size(); ++i) {  // [0] is the metainfo
      c.push_back(std::move(commands[i]));
    }
  }
  return batch(std::move(c));
}

json::object tap_forget(const std::string& tap) {
  return one_command(json::object{{"delete", json::object{{"element", taps_element(tap)}}}});
}

json::object port_forwards_replace(const std::vector<PortForward>& forwards) {
  json::array c;
  c.push_back(json::object{{"flush", json::object{{"chain", chain("inet", "portforwards")}}}});
  for (const auto& f : forwards) {
    const char* proto = f.protocol == PortForward::Protocol::tcp ? "tcp" : "udp";
    c.push_back(rule("inet", "portforwards",
                     {match("==", payload(proto, "dport"), f.host_port),
                      json::object{{"dnat", json::object{{"family", "ip"},
                                                         {"addr", format_ipv4(f.guest_ipv4)},
                                                         {"port", f.guest_port}}}}}));
  }
  return batch(std::move(c));
}

std::vector<json::object> tables_delete_steps() {
  return {json::object{{"delete", json::object{{"table", table("inet")}}}},
          json::object{{"delete", json::object{{"table", table("bridge")}}}}};
}

json::object tables_delete() {
  json::array c;
  for (auto& step : tables_delete_steps()) {
    c.push_back(std::move(step));
  }
  return batch(std::move(c));
}

}  // namespace qmd::daemon::network
