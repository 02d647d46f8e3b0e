#!/usr/bin/env bash
# The NAT network with IPv6 (network.nat.ipv6) end to end (root only; exit 77 otherwise),
# never on the host's own network: qmd inside a network namespace this test makes (NSQ),
# whose veth to the uplink namespace (NSU) has IPv6 too (2001:db8:2::/64, an HTTP server at
# 2001:db8:2::2, sending router advertisements). NAT66 is refused while IPv6 forwarding
# would cost qmd's namespace its default route by RA, and comes up once accept_ra is 2, the
# route kept. Two test guests take their DHCPv6 leases with a real client (dhcpcd) and
# get exactly the addresses qmd reports (PREFIX::N, no SLAAC address of their own); reach the
# uplink over IPv6 through NAT66 and resolve over IPv6; are reached from qmd's namespace by
# their ULA; the bridge's MAC stays fixed when a tap joins. Attacks from inside a guest
# (frames it forges through a packet socket) are dropped: a spoofed IPv6 source, a router
# advertisement, a neighbour advertisement claiming the other guest's address, and a
# ping from an address the guest added itself; each with a control that arrives. A flushed
# ruleset comes back with the IPv6 guards.
source "$(dirname "$0")/lib.sh"
need_root_and_tools "network namespaces, bridges and nftables" ip nft dnsmasq curl python3 cc
source "$(dirname "$0")/nat_lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
FRAMES=$HERE/nat_frames.py
P=fd12:3456:789a:1
GW6=$P::1
UPLINK6=2001:db8:2::2
MAC1=02:00:00:5a:00:01
MAC2=02:00:00:5a:00:02

ip6_of() { show_field "$1" 'd["natInterfaces"][0]["ipv6Address"]'; }
# The guest's global IPv6 addresses on eth0, one per line.
guest_ip6() {
  qm exec "$1" -- ip -6 -o addr show dev eth0 scope global 2>/dev/null |
    sed -n 's/.* inet6 \([^ ]*\) .*/\1/p'
}
# A DHCPv6 lease with dhcpcd (once: it exits when bound), IPv6 only, no hooks.
dhcpv6() {
  local out
  out=$(qm exec "$1" --timeout 90 -- dhcpcd -6 -1 -t 60 -f /dev/null -c /bin/true eth0 2>&1) ||
    fail "no DHCPv6 lease for $1: $out"
}
counter6() {  # packets of counter NAME in NSQ's IPv6 probe table
  inq nft list counter ip6 qmdprobe6 "$1" | sed -n 's/.*packets \([0-9]*\).*/\1/p'
}
counter6_above() { (($(counter6 "$1") > $2)); }
# frame KIND SRC_IP6 DST_IP6 [DST_MAC]: the hex of an IPv6 frame from n1's MAC.
frame() {
  python3 "$FRAMES" frame6 "$MAC1" "${4:-$BRMAC}" "$2" "$3" "$1"
}
send_from_n1() { qm exec n1 -- /tmp/frame_send eth0 "$1" "${2:-3}" >/dev/null; }

scenario_ra_default_route_kept() {
  log "NAT66 is refused while it would cost qmd's namespace its default route by RA"
  # (The route comes and goes while the uplink's dnsmasq starts: looked for right before.)
  wait_for 30 "a default route by RA in qmd's namespace" ra_route
  api POST /v1/vms/n1/start
  [[ "$STATUS" != 200 ]] || fail "n1 started with an RA default route on $VQ and accept_ra 1"
  grep_q "network.nat.ipv6: NAT66 needs IPv6 forwarding, and with it on the host would ignore the router advertisements its default route on $VQ comes from; set net.ipv6.conf.$VQ.accept_ra = 2" <<<"$BODY" ||
    fail "the refusal: $BODY"
  ! inq ip link show qmd0 >/dev/null 2>&1 || fail "bridge qmd0 is left"
  [[ "$(inq cat /proc/sys/net/ipv6/conf/all/forwarding)" == 0 ]] || fail "forwarding was turned on"
  # What the error says to do; the default route by RA stays through qmd's bring-up.
  inq sysctl -qw "net.ipv6.conf.$VQ.accept_ra=2" || fail "accept_ra 2"
  qm start n1 >/dev/null || fail "start n1"
  [[ "$(inq cat /proc/sys/net/ipv6/conf/all/forwarding)" == 1 ]] || fail "no IPv6 forwarding"
  # With accept_ra 2 the namespace keeps taking the uplink's RAs while forwarding: the route
  # is there again at the next RA even if a slow start outlived one (waited for, not assumed).
  wait_for 60 "the default route by RA with IPv6 forwarding on" ra_route
}

scenario_leases() {
  log "each guest takes the DHCPv6 lease qmd reports, and no address of its own making"
  [[ "$V6_1" == "$P::2" && "$V6_2" == "$P::3" ]] || fail "IPv6 addresses: n1 $V6_1, n2 $V6_2"
  qm show n1 | grep_q "^nat default: $IP1 $V6_1 (mac $MAC1, bridge qmd0)" ||
    fail "qmctl show: $(qm show n1)"
  qm network | grep_q "^bridge qmd0 10.91.0.0/24 gateway $GW ipv6 $P::/64: up" ||
    fail "qmctl network: $(qm network)"
  [[ "$(inq ip -6 -o addr show dev qmd0 scope global)" == *" inet6 $GW6/64 "* ]] ||
    fail "qmd0 lacks $GW6/64: $(inq ip -6 addr show dev qmd0)"
  dhcpv6 n1
  dhcpv6 n2
  [[ "$(guest_ip6 n1)" == "$V6_1/128" ]] || fail "n1's global IPv6: $(guest_ip6 n1)"
  [[ "$(guest_ip6 n2)" == "$V6_2/128" ]] || fail "n2's global IPv6: $(guest_ip6 n2)"
  grep_q "DHCPREPLY(qmd0) $V6_1 " "$T/run/network/dnsmasq.log" || fail "dnsmasq gave no $V6_1"
}

scenario_bridge_mac_fixed() {
  log "the bridge keeps its own fixed MAC when a tap joins"
  [[ "$BRMAC" == 02:71:6d:* ]] || fail "qmd0's MAC is not qmd's fixed one: $BRMAC"
  inq ip tuntap add dev lowmac0 mode tap || fail "make lowmac0"
  inq ip link set lowmac0 address 02:00:00:00:00:00  # lower than every other port's
  # The control: a bridge made without a MAC of its own takes its lowest port's.
  inq ip link add ctlbr0 type bridge || fail "make ctlbr0"
  inq ip link set lowmac0 master ctlbr0 || fail "lowmac0 on ctlbr0"
  [[ "$(inq cat /sys/class/net/ctlbr0/address)" == 02:00:00:00:00:00 ]] ||
    fail "the control: ctlbr0 did not take its port's MAC"
  inq ip link set lowmac0 nomaster
  inq ip link del ctlbr0
  inq ip link set lowmac0 master qmd0 || fail "lowmac0 on qmd0"
  [[ "$(inq cat /sys/class/net/qmd0/address)" == "$BRMAC" ]] ||
    fail "qmd0's MAC changed to $(inq cat /sys/class/net/qmd0/address) when a tap joined"
  inq ip link del lowmac0
  [[ "$(inq cat /sys/class/net/qmd0/address)" == "$BRMAC" ]] || fail "qmd0's MAC changed"
}

scenario_uplink_nat66() {
  log "a guest reaches the uplink over IPv6 through NAT66, and resolves over IPv6"
  local out
  out=$(qm exec n1 -- wget -qO- "http://[$UPLINK6]:8080/token") || fail "wget over IPv6: $out"
  [[ "$out" == "uplink-token-$$" ]] || fail "the uplink answered '$out'"
  grep_q "^2001:db8:2:[0-9a-f:]* .*GET /token" "$T/http6.log" || fail "not NATed: $(cat "$T/http6.log")"
  ! grep_q "^$P:" "$T/http6.log" || fail "the guest's own ULA reached the uplink"
  out=$(qm exec n1 -- nslookup uplink.test "$GW6") || fail "nslookup over IPv6: $out"
  grep_q "$UPLINK" <<<"$out" || fail "uplink.test did not resolve over IPv6: $out"
}

scenario_host_reaches_ula() {
  log "qmd's namespace reaches a guest by its ULA; the guests reach each other over IPv6"
  qm exec n2 -- sh -c 'mkdir -p /tmp/www && echo n2-page6 >/tmp/www/index.html &&
    busybox httpd -p 8000 -h /tmp/www' >/dev/null || fail "httpd in n2"
  served() { [[ "$(inq curl -sf --max-time 2 "http://[$V6_2]:8000/")" == n2-page6 ]]; }
  wait_for 20 "n2's page from qmd's namespace by its ULA" served
  local out
  out=$(qm exec n1 -- wget -qO- "http://[$V6_2]:8000/") || fail "n1 -> n2 over IPv6: $out"
  [[ "$out" == n2-page6 ]] || fail "n1 got '$out' from n2"
}

scenario_attacks_dropped() {
  log "forged IPv6 from n1 is dropped: spoofed source, RA, NA for n2's address; controls pass"
  local target2  # n2's address as the number an NA's target field holds
  target2=$(python3 -c "import socket; print('0x' + socket.inet_pton(socket.AF_INET6, '$V6_2').hex())")
  # (RAs counted by n1's link-local source: dnsmasq's own loop back to qmd's namespace.)
  inq nft -f - <<EOF
table ip6 qmdprobe6 {
  counter real {}
  counter spoofed {}
  counter added {}
  counter ra {}
  counter na {}
  chain input {
    type filter hook input priority -300; policy accept;
    ip6 saddr $V6_1 icmpv6 type echo-request counter name "real"
    ip6 saddr $P::99 icmpv6 type echo-request counter name "spoofed"
    ip6 saddr $P::98 icmpv6 type echo-request counter name "added"
    ip6 saddr fe80::ff:fe5a:1 icmpv6 type nd-router-advert counter name "ra"
    ip6 saddr $V6_1 icmpv6 type nd-neighbor-advert @th,64,128 $target2 counter name "na"
  }
}
EOF
  local tool
  tool=$(base64 -w0 "$T/frame_send")
  qm exec n1 -- sh -c "echo $tool | base64 -d >/tmp/frame_send && chmod +x /tmp/frame_send" \
    >/dev/null || fail "copy frame_send into n1"
  # The control: a forged frame with n1's own lease as source arrives.
  send_from_n1 "$(frame echo "$V6_1" "$GW6")" || fail "send from n1"
  wait_for 10 "n1's own forged echo to arrive" counter6_above real 0
  send_from_n1 "$(frame echo "$P::99" "$GW6")" || fail "send a spoofed source"
  send_from_n1 "$(frame ra "fe80::ff:fe5a:1" ff02::1 33:33:00:00:00:01)" || fail "send an RA"
  send_from_n1 "$(frame "na:$V6_2" "$V6_1" ff02::1 33:33:00:00:00:01)" || fail "send an NA"
  # An address n1 adds itself: its pings do not get through (the kernel's own frames).
  # (No duplicate address detection for it: busybox ip has no nodad.)
  qm exec n1 -- sh -c "echo 0 >/proc/sys/net/ipv6/conf/eth0/accept_dad &&
    ip -6 addr add $P::98/128 dev eth0 && echo 1 >/proc/sys/net/ipv6/conf/eth0/accept_dad" \
    >/dev/null || fail "add $P::98"
  qm exec n1 -- ping6 -c 3 -W 1 -I "$P::98" "$GW6" >/dev/null && fail "a ping from $P::98 was answered"
  qm exec n1 -- ip -6 addr del "$P::98/128" dev eth0 >/dev/null || true
  # After them, n1's own again (ordered behind the forged ones on the same tap).
  local real
  real=$(counter6 real)
  send_from_n1 "$(frame echo "$V6_1" "$GW6")" || fail "send from n1"
  wait_for 10 "n1's own echo to arrive after the attacks" counter6_above real "$real"
  for c in spoofed added ra na; do
    [[ "$(counter6 "$c")" == 0 ]] || fail "$(counter6 "$c") forged packets ($c) reached the host"
  done
  [[ "$(inq ip -6 neigh show "$V6_2" dev qmd0)" != *"$MAC1"* ]] ||
    fail "n1's NA took n2's address: $(inq ip -6 neigh show "$V6_2")"
  # The control for the guard: with an accept for them first in n1's guard for a moment, the
  # same RA and spoofed frames do arrive, so it is the guard that stopped them.
  local tap handle
  tap=$(qm argv n1 | sed -n 's/.*ifname=\([^,]*\).*/\1/p' | head -n1)
  inq nft insert rule bridge qmd-qmd0 "vm-$tap" ether type ip6 accept || fail "open n1's guard"
  send_from_n1 "$(frame echo "$P::99" "$GW6")"
  send_from_n1 "$(frame ra "fe80::ff:fe5a:1" ff02::1 33:33:00:00:00:01)"
  handle=$(inq nft -a list chain bridge qmd-qmd0 "vm-$tap" |
    sed -n 's/.*ether type ip6 accept # handle \([0-9]*\).*/\1/p' | head -n1)
  inq nft delete rule bridge qmd-qmd0 "vm-$tap" handle "$handle" || fail "close n1's guard"
  wait_for 10 "the control: spoofed frames past the opened guard" counter6_above spoofed 0
  wait_for 10 "the control: the RA past the opened guard" counter6_above ra 0
  inq nft delete table ip6 qmdprobe6
}

scenario_flush_repaired() {
  log "a flushed ruleset comes back with the IPv6 guards and NAT66"
  inq nft flush ruleset
  repaired() { inq nft list table bridge qmd-qmd0 2>/dev/null | grep_q "icmpv6 type"; }
  wait_for 40 "qmd's watch to rebuild the guards" repaired
  inq nft list table inet qmd-qmd0 | grep_q "ip6 saddr $P::/64 .*masquerade" ||
    fail "no NAT66 after the repair: $(inq nft list table inet qmd-qmd0)"
  [[ "$(qm exec n1 -- wget -qO- "http://[$UPLINK6]:8080/token")" == "uplink-token-$$" ]] ||
    fail "n1 lost the IPv6 uplink after the repair"
}

make_namespaces
inq ip addr add 2001:db8:2::1/64 dev "$VQ" nodad
inu ip addr add "$UPLINK6/64" dev "$VU" nodad
# The uplink's router advertisements: qmd's namespace takes its default route from them
# (dnsmasq advertises a router lifetime only while it has a default route itself).
inu ip -6 route add default via 2001:db8:2::ffff dev "$VU"
ip netns exec "$NSU" dnsmasq --keep-in-foreground --port=0 --interface="$VU" --bind-interfaces \
  --enable-ra --dhcp-range=2001:db8:2::,ra-only,64 --ra-param="$VU,10,1800" \
  --pid-file= --log-facility=- >/dev/null 2>&1 &
EXTRA_PIDS+=($!)
ra_route() { inq ip -6 route show default | grep_q "proto ra"; }
QEMU_USER=root  # /dev/net/tun is 0600 root on these build hosts (see e2e_bridge.sh)
QMD_MASQUERADE=nat
QMD_WRAP=(ip netns exec "$NSQ")
e2e_dir
printf 'network:\n  nat: {ipv6: "%s::/64"}\n' "$P" >"$T/qmd.yaml"
QMD_ARGS=(--config "$T/qmd.yaml")
e2e_setup
cc -O2 -o "$T/frame_send" "$HERE/frame_send.c" || fail "build frame_send"
start_uplink
ip netns exec "$NSU" python3 -m http.server --bind "$UPLINK6" 8080 --directory "$T/www" \
  >"$T/http6.log" 2>&1 &
EXTRA_PIDS+=($!)
uplink6_up() { inu curl -sf --max-time 2 "http://[$UPLINK6]:8080/token" >/dev/null; }
wait_for 20 "the uplink's IPv6 HTTP server" uplink6_up
nat_vm n1 "$MAC1"
nat_vm n2 "$MAC2"
scenario_ra_default_route_kept
echo "PASS scenario_ra_default_route_kept"
BRMAC=$(inq cat /sys/class/net/qmd0/address)
qm start n2 >/dev/null || fail "start n2"
[[ "$(inq cat /sys/class/net/qmd0/address)" == "$BRMAC" ]] ||
  fail "qmd0's MAC changed from $BRMAC when n2's tap joined"
wait_agent n1 120
wait_agent n2 120
IP1=$(nat_ip n1)
V6_1=$(ip6_of n1)
V6_2=$(ip6_of n2)
# In order, and the first failure ends the test with its reason.
for s in scenario_leases scenario_bridge_mac_fixed scenario_uplink_nat66 \
  scenario_host_reaches_ula scenario_attacks_dropped scenario_flush_repaired; do
  "$s"
  echo "PASS $s"
done
