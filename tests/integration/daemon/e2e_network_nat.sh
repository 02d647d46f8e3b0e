#!/usr/bin/env bash
# The managed NAT network end to end (root only; exit 77 otherwise), never on the host's own
# network: qmd runs inside a network namespace this test makes (NSQ), whose only link is a
# veth to a second namespace standing in for the uplink (NSU: an HTTP server, and a DNS
# server that knows the name uplink.test). With network.masquerade nat (the defaults: bridge
# qmd0, 10.91.0.0/24) two test guests get their addresses by DHCP (the stable ones qmd
# reports), resolve uplink.test through qmd's dnsmasq, fetch from the uplink (NATed), are
# reached from qmd's namespace and from each other; a spoofed source address or MAC does not
# get through (a guest whose pod network sets vmNetworkCIDR gets its NAT address, and a
# Warning event says the CIDR is not applied); a masquerade NIC hot-plugged into a guest gets its lease by DHCP and leaves
# no tap or guard when unplugged (one attached without --persist stays the guest's across a
# qmd restart: its guard rebuilt after a flushed ruleset, its detach complete, not back after
# another restart, and record entries naming another VM's tap or no interface at all are
# said and ignored); the network survives a SIGKILL of qmd and of its dnsmasq; `qmctl network
# down` is refused while VMs use it and then leaves no bridge, table or dnsmasq; a CIDR that
# overlaps a route, and a missing /dev/net/tun, are refused naming them, leaving nothing.
source "$(dirname "$0")/lib.sh"
need_root_and_tools "network namespaces, bridges and nftables" ip nft dnsmasq curl

source "$(dirname "$0")/nat_lib.sh"

scenario_dhcp_stable_address() {
  log "each guest gets the address qmd reports, by DHCP"
  [[ "$IP1" == 10.91.0.2 && "$IP2" == 10.91.0.3 ]] || fail "addresses: n1 $IP1, n2 $IP2"
  wait_for 90 "n1's DHCP lease $IP1" guest_ip_is n1 "$IP1"
  wait_for 90 "n2's DHCP lease $IP2" guest_ip_is n2 "$IP2"
  qm show n1 | grep_q "^nat default: $IP1 (mac 02:00:00:5a:00:01, bridge qmd0)" ||
    fail "qmctl show: $(qm show n1)"
  qm network | grep_q "^bridge qmd0 10.91.0.0/24 gateway $GW: up, dnsmasq pid [0-9]" ||
    fail "qmctl network: $(qm network)"
  qm network | grep_q "^n2 .*default .*02:00:00:5a:00:02 .*$IP2" || fail "qmctl network: $(qm network)"
  # n1's pod.vmNetworkCIDR cannot apply to a network all VMs share: a warning at start says so.
  qm -o json events n1 | grep '"Warning"' |
    grep_q -F "VM n1: interface default: networks[].pod.vmNetworkCIDR 10.77.7.0/24 is not applied on the managed NAT network" ||
    fail "no Warning event about n1's vmNetworkCIDR: $(qm events n1)"
}

scenario_dns_and_uplink() {
  log "a guest resolves uplink.test through dnsmasq and fetches from it, NATed"
  local out
  out=$(qm exec n1 -- nslookup uplink.test) || fail "nslookup: $out"
  grep_q "$UPLINK" <<<"$out" || fail "uplink.test did not resolve to $UPLINK: $out"
  out=$(qm exec n1 -- wget -qO- "http://uplink.test:8080/token") || fail "wget: $out"
  [[ "$out" == "uplink-token-$$" ]] || fail "the uplink answered '$out'"
  # The uplink saw qmd's namespace's address, not the guest's: masquerade.
  grep_q '^192\.0\.2\.1 .*GET /token' "$T/http.log" || fail "no NATed request: $(cat "$T/http.log")"
  ! grep_q '^10\.91\.' "$T/http.log" || fail "the guest's own address reached the uplink"
}

scenario_reachable() {
  log "qmd's namespace reaches a guest by its address; the guests reach each other"
  qm exec n2 -- sh -c 'mkdir -p /tmp/www && echo n2-page >/tmp/www/index.html &&
    busybox httpd -p 8000 -h /tmp/www' >/dev/null || fail "httpd in n2"
  served() { [[ "$(inq curl -sf --max-time 2 "http://$IP2:8000/")" == n2-page ]]; }
  wait_for 20 "n2's page from qmd's namespace" served
  local out
  out=$(qm exec n1 -- wget -qO- "http://$IP2:8000/") || fail "n1 -> n2: $out"
  [[ "$out" == n2-page ]] || fail "n1 got '$out' from n2"
}

scenario_port_forward() {
  log "a forwarded port reaches the guest from the uplink and from qmd's namespace"
  qm show n2 | grep_q "^port: TCP host 8000 -> guest 8000 (interface default, http)" ||
    fail "qmctl show lacks the forward: $(qm show n2)"
  local out
  out=$(inu curl -sf --max-time 5 "http://192.0.2.1:8000/") || fail "uplink -> 192.0.2.1:8000 failed"
  [[ "$out" == n2-page ]] || fail "the forward from the uplink answered '$out'"
  out=$(inq curl -sf --max-time 5 "http://192.0.2.1:8000/") || fail "qmd's namespace -> 8000 failed"
  [[ "$out" == n2-page ]] || fail "the forward from qmd's namespace answered '$out'"
  inq nft -j list chain inet qmd-qmd0 portforwards | grep_q "\"addr\": \"$IP2\"" ||
    fail "no DNAT to $IP2: $(inq nft list chain inet qmd-qmd0 portforwards)"
}

scenario_spoofing_dropped() {
  log "a spoofed source address or MAC from a guest does not get through"
  # Counters at the input hook of qmd's namespace (a probe table of the test's own): what
  # reaches the host from the guest, by source.
  inq nft -f - <<EOF
table ip qmdprobe {
  counter real {}
  counter spoofed {}
  chain input {
    type filter hook input priority -300; policy accept;
    ip saddr $IP1 icmp type echo-request counter name "real"
    ip saddr 10.91.0.200 icmp type echo-request counter name "spoofed"
  }
}
EOF
  local brmac
  brmac=$(inq cat /sys/class/net/qmd0/address)
  # A permanent neighbour entry: the spoofed packets go out without asking ARP first (an ARP
  # request from a foreign address is dropped too, but this shows the IPv4 rule).
  qm exec n1 -- arp -i eth0 -s "$GW" "$brmac" >/dev/null || fail "a static neighbour in n1"
  qm exec n1 -- ping -c 2 -W 2 "$GW" >/dev/null || fail "n1 cannot ping the gateway"
  wait_for 10 "n1's own pings to count" counter_above real 0
  qm exec n1 -- ip addr add 10.91.0.200/32 dev eth0 >/dev/null || fail "add a foreign address"
  qm exec n1 -- ping -c 3 -W 1 -I 10.91.0.200 "$GW" >/dev/null &&
    fail "a ping from a spoofed address was answered"
  local real
  real=$(counter real)
  # The MAC too: its own address from another MAC does not get through either.
  qm exec n1 -- ip link set eth0 address 02:00:00:5a:00:99 >/dev/null || fail "set a foreign MAC"
  qm exec n1 -- ping -c 2 -W 1 "$GW" >/dev/null && fail "a ping from a spoofed MAC was answered"
  [[ "$(counter real)" == "$real" ]] || fail "frames from a spoofed MAC reached the host"
  qm exec n1 -- ip link set eth0 address 02:00:00:5a:00:01 >/dev/null || fail "restore the MAC"
  qm exec n1 -- ip addr del 10.91.0.200/32 dev eth0 >/dev/null || true
  qm exec n1 -- ping -c 2 -W 2 "$GW" >/dev/null || fail "n1 cannot ping the gateway again"
  wait_for 10 "n1's own pings to count again" counter_above real "$real"
  [[ "$(counter spoofed)" == 0 ]] || fail "$(counter spoofed) spoofed packets reached the host"
  # Control: with an accept for the foreign address first in n1's guard for a moment, the
  # same spoofed pings do arrive, so it is the guard that stopped them. (Taking the guard out
  # would not do: its tap, in set nat_taps, then passes nothing at all.)
  local tap handle
  tap=$(qm argv n1 | sed -n 's/.*ifname=\([^,]*\).*/\1/p' | head -n1)
  inq nft insert rule bridge qmd-qmd0 "vm-$tap" ip saddr 10.91.0.200 accept || fail "open n1's guard"
  qm exec n1 -- ip addr add 10.91.0.200/32 dev eth0 >/dev/null || fail "add a foreign address"
  qm exec n1 -- ping -c 2 -W 1 -I 10.91.0.200 "$GW" >/dev/null || true
  handle=$(inq nft -a list chain bridge qmd-qmd0 "vm-$tap" |
    sed -n 's/.*ip saddr 10\.91\.0\.200 accept # handle \([0-9]*\).*/\1/p')
  inq nft delete rule bridge qmd-qmd0 "vm-$tap" handle "$handle" || fail "close n1's guard"
  qm exec n1 -- ip addr del 10.91.0.200/32 dev eth0 >/dev/null || true
  counter_above spoofed 0 || fail "the control: spoofed pings did not arrive past the guard"
  inq nft delete table ip qmdprobe
}

scenario_hotplug_nic() {
  log "a masquerade NIC hot-plugged into n1 gets its lease by DHCP; unplugged, nothing is left"
  local mac=02:00:00:5a:00:11 ip tap out
  qm attach-interface n1 --name extra --binding masquerade --mac "$mac" >/dev/null ||
    fail "attach a masquerade NIC"
  attached() { qm -o json network | json_get "[a for a in d['attached'] if a['interface'] == 'extra'][0]['$1']"; }
  ip=$(attached ipAddress)
  tap=$(attached tap)
  [[ -n "$ip" && -n "$tap" ]] || fail "the NIC is not on the NAT network: $(qm -o json network)"
  [[ "$(inq readlink "/sys/class/net/$tap/master")" == */qmd0 ]] || fail "$tap is not on qmd0"
  inq nft list chain bridge qmd-qmd0 "vm-$tap" >/dev/null || fail "no guard for $tap"
  # Its descriptor went over QMP (getfd, netdev_add fd=): QEMU holds the tap's queue.
  grep_q "^iff:[[:space:]]*$tap\$" /proc/"$(vm_pid n1)"/fdinfo/* || fail "QEMU does not hold $tap"
  local dev
  nic_seen() {
    dev=$(qm exec n1 -- sh -c "grep -l $mac /sys/class/net/*/address" 2>/dev/null | cut -d/ -f5)
    [[ -n "$dev" ]]
  }
  wait_for 60 "n1 to see the NIC with $mac" nic_seen
  qm exec n1 -- ip link set "$dev" up >/dev/null || fail "set $dev up"
  # The lease only (a no-op script): n1's routes stay on eth0.
  out=$(qm exec n1 -- sh -c "udhcpc -i $dev -q -n -t 5 -T 1 -s /bin/true 2>&1") ||
    fail "no DHCP answer on the hot-plugged $dev: $out"
  grep_q "lease of $ip obtained" <<<"$out" || fail "the DHCP answer on $dev: $out"
  qm detach-interface n1 extra >/dev/null || fail "detach the NIC"
  tap_gone() { ! inq ip link show "$tap" >/dev/null 2>&1; }
  wait_for 30 "the tap $tap to go" tap_gone
  ! inq nft list chain bridge qmd-qmd0 "vm-$tap" >/dev/null 2>&1 || fail "the guard of $tap is left"
  ! inq nft get element bridge qmd-qmd0 nat_taps "{ \"$tap\" }" >/dev/null 2>&1 ||
    fail "$tap is left in nat_taps"
  [[ -z "$(attached tap 2>/dev/null)" ]] || fail "the NIC is still attached"
  qm exec n1 -- wget -qO- "http://uplink.test:8080/token" >/dev/null || fail "n1 lost the uplink"
}

# hot_nic FIELD: the NAT network's attachment of n1's interface hot ("" when none).
hot_nic() {
  qm -o json network |
    json_get "next((a['$1'] for a in d['attached'] if a['interface'] == 'hot'), None)"
}
hot_lease() {
  qm -o json network | json_get "[l['ipAddress'] for l in d['leases'] if l['interface'] == 'hot']"
}
recorded_hot_nics() { json_get 'd.get("hotNics")' <"$T/state/vms/n1/record.json"; }

scenario_hot_nic_across_restarts() {
  log "a NAT NIC hot-plugged without --persist is n1's after a qmd restart: guard rebuilt, detach"
  local mac=02:00:00:5a:00:12 ip tap dev
  qm attach-interface n1 --name hot --binding masquerade --mac "$mac" >/dev/null ||
    fail "attach a masquerade NIC"
  ip=$(hot_nic ipAddress)
  tap=$(hot_nic tap)
  [[ -n "$ip" && -n "$tap" ]] || fail "the NIC is not on the NAT network: $(qm -o json network)"
  recorded_hot_nics | grep_q "\"tap\": \"$tap\"" || fail "not in the record: $(recorded_hot_nics)"
  nic_seen() {
    dev=$(qm exec n1 -- sh -c "grep -l $mac /sys/class/net/*/address" 2>/dev/null | cut -d/ -f5)
    [[ -n "$dev" ]]
  }
  wait_for 60 "n1 to see the NIC with $mac" nic_seen
  # The hot NIC's address on it, and qmd's namespace's 192.0.2.1 reached through it only:
  # from that source, only the hot NIC's guard lets the packets out.
  qm exec n1 -- sh -c "ip link set $dev up && ip addr add $ip/24 dev $dev &&
    ip route add 192.0.2.1/32 via $GW dev $dev src $ip" >/dev/null || fail "address $ip on $dev"
  over_hot() { qm exec n1 -- ping -c 1 -W 2 192.0.2.1 >/dev/null 2>&1; }
  wait_for 20 "n1 to reach 192.0.2.1 from $ip" over_hot
  # An update naming `hot` with another binding would stand for the NIC at the next
  # adoption and leave its tap unguarded: refused while it is attached, nothing changed.
  local other
  other=$(spec n1-other)
  sed -i 's/^  name: n1-other$/  name: n1/' "$other"
  sed -i 's/^          interfaces: \[\]$/          interfaces: [{name: hot, user: {}}]/' "$other"
  sed -i 's|^      networks: \[\]$|      networks: [{name: hot, pod: {}}]|' "$other"
  api PUT /v1/vms/n1 -H 'Content-Type: application/yaml' --data-binary "@$other"
  [[ "$STATUS" == 409 ]] || fail "an update renaming the hot NIC's binding: $STATUS $BODY"
  grep_q "interface hot is attached at run time with binding masquerade" <<<"$BODY" ||
    fail "the refusal: $BODY"
  qm argv n1 | grep_q "id=net-default" || fail "n1's definition changed: $(qm argv n1)"

  # While qmd is down, n1's record gets entries naming n2's tap and the bridge: read back,
  # they are said and ignored, and neither interface is touched.
  local n2tap
  n2tap=$(qm argv n2 | sed -n 's/.*ifname=\([^,]*\).*/\1/p' | head -n1)
  kill_qmd
  python3 - "$T/state/vms/n1/record.json" "$n2tap" <<'EOF2'
import json, sys
path, tap = sys.argv[1], sys.argv[2]
record = json.load(open(path))
record["hotNics"] += [
    {"name": "evil", "binding": "masquerade", "tap": tap, "mac": "02:00:00:5a:00:66"},
    {"name": "../x", "binding": "bridge", "network": "lan", "tap": "qmd0", "mac": "zz"}]
json.dump(record, open(path, "w"))
EOF2
  start_qmd
  wait_state n1 running 30
  [[ "$(hot_nic tap)" == "$tap" && "$(hot_nic ipAddress)" == "$ip" ]] ||
    fail "the adopted NIC is not on the NAT network: $(qm -o json network)"
  local events
  events=$(qm -o json events n1 | grep '"Adoption"')
  grep_q -F "interface evil: tap $n2tap is not the one qmd makes for it" <<<"$events" ||
    fail "no Adoption event for the entry naming n2's tap: $(qm events n1)"
  grep_q -F 'hotNics[2]: name \"../x\" is not an interface name; ignored' <<<"$events" ||
    fail "no Adoption event for the malformed entry: $(qm events n1)"
  wait_state n2 running 30
  [[ "$(inq readlink "/sys/class/net/$n2tap/master")" == */qmd0 ]] || fail "n2's tap left qmd0"
  inq ip link show qmd0 >/dev/null || fail "qmd0 is gone"
  qm -o json network | json_get "[a['vm'] for a in d['attached'] if a['tap'] == '$n2tap']" |
    grep_q '"n2"' || fail "n2's tap is not n2's: $(qm -o json network)"
  local repairs
  repairs=$(qm -o json network | json_get 'd["repairs"]')
  inq nft flush ruleset
  repaired() { (($(qm -o json network | json_get 'd["repairs"]') > repairs)); }
  wait_for 30 "the watch to rebuild the flushed rules" repaired
  inq nft list chain bridge qmd-qmd0 "vm-$tap" | grep_q "$ip" || fail "no guard for $tap after the repair"
  wait_for 20 "n1 to reach 192.0.2.1 from $ip after the repair" over_hot

  qm detach-interface n1 hot >/dev/null || fail "detach the adopted NIC"
  tap_gone() { ! inq ip link show "$tap" >/dev/null 2>&1; }
  wait_for 30 "the tap $tap to go" tap_gone
  ! inq nft list chain bridge qmd-qmd0 "vm-$tap" >/dev/null 2>&1 || fail "the guard of $tap is left"
  ! inq nft get element bridge qmd-qmd0 nat_taps "{ \"$tap\" }" >/dev/null 2>&1 ||
    fail "$tap is left in nat_taps"
  [[ -z "$(hot_nic tap)" ]] || fail "the NIC is still attached"
  [[ "$(hot_lease)" == "[]" ]] || fail "its lease is left: $(hot_lease)"
  [[ -z "$(recorded_hot_nics)" ]] || fail "still in the record: $(recorded_hot_nics)"

  kill_qmd
  start_qmd
  wait_state n1 running 30
  [[ -z "$(hot_nic tap)" && "$(hot_lease)" == "[]" ]] ||
    fail "the detached NIC came back: $(qm -o json network)"
  local out
  out=$(qm detach-interface n1 hot 2>&1) && fail "detached twice"
  grep_q "VM n1 has no interface named hot" <<<"$out" || fail "a second detach: $out"
  qm exec n1 -- wget -qO- "http://uplink.test:8080/token" >/dev/null || fail "n1 lost the uplink"
}

scenario_restarts() {
  log "SIGKILL of qmd: the network is taken over as it is; dnsmasq killed: restarted"
  local before
  before=$(dnsmasq_pid)
  [[ -n "$before" ]] && alive "$before" || fail "no dnsmasq: '$before'"
  kill_qmd
  start_qmd
  wait_state n1 running 30
  [[ "$(dnsmasq_pid)" == "$before" ]] || fail "dnsmasq $before was not adopted: $(dnsmasq_pid)"
  [[ "$(nat_ip n1)" == "$IP1" ]] || fail "n1's address changed across the qmd restart"
  [[ "$(qm exec n1 -- wget -qO- "http://uplink.test:8080/token")" == "uplink-token-$$" ]] ||
    fail "n1 lost the uplink across the qmd restart"
  wait_state n2 running 30
  [[ "$(inu curl -sf --max-time 5 "http://192.0.2.1:8000/")" == n2-page ]] ||
    fail "n2's forwarded port is gone after the qmd restart"
  kill -KILL "$before"
  restarted() { local now; now=$(dnsmasq_pid); [[ -n "$now" && "$now" != "$before" ]]; }
  wait_for 30 "dnsmasq to be restarted" restarted
  grep_q "dnsmasq of the NAT network (pid $before) .*restarting it" "$T/qmd.log" ||
    fail "the dnsmasq death is not in qmd's log"
  # DHCP again from the new dnsmasq: the guest renews and keeps its address.
  qm exec n1 -- udhcpc -i eth0 -q -n -t 5 -T 1 -s /usr/share/udhcpc/default.script >/dev/null ||
    fail "no DHCP answer from the restarted dnsmasq"
  guest_ip_is n1 "$IP1" || fail "n1's address after the renewal"
}

scenario_down_and_stable() {
  log "network down: refused while VMs use it; then nothing left; the addresses stay"
  api POST /v1/network/down
  [[ "$STATUS" == 409 ]] && grep_q 'in use by VM n1, n2' <<<"$BODY" || fail "down: $STATUS $BODY"
  local dns
  dns=$(dnsmasq_pid)
  qm kill n1 >/dev/null && qm kill n2 >/dev/null || fail "kill the VMs"
  wait_state n1 stopped 20
  wait_state n2 stopped 20
  ! inq nft list table bridge qmd-qmd0 | grep_q 'vm-' || fail "guards left after the stop"
  qm network down >/dev/null || fail "network down"
  ! inq ip link show qmd0 >/dev/null 2>&1 || fail "bridge qmd0 is left"
  ! inq nft list tables | grep_q qmd || fail "tables left: $(inq nft list tables)"
  ! alive "$dns" || fail "dnsmasq $dns is left"
  [[ "$(nat_ip n1)" == "$IP1" ]] || fail "n1's lease was lost by network down"
  qm start n1 >/dev/null || fail "start n1 again"
  wait_for 90 "n1's same address after network down" guest_ip_is n1 "$IP1"
  qm delete --force n2 >/dev/null || fail "delete n2"
  ! qm -o json network | grep_q '"n2"' || fail "n2's lease outlived n2"
  qm kill n1 >/dev/null || fail "kill n1"
  wait_state n1 stopped 20
  qm network down >/dev/null || fail "network down again"
}

scenario_clashing_cidr() {
  log "a CIDR that overlaps a route is refused naming both; nothing is left"
  kill_qmd
  printf 'network:\n  nat: {ipv4: 192.0.2.0/25}\n' >"$T/clash.yaml"
  QMD_ARGS=(--config "$T/clash.yaml")
  start_qmd
  api POST /v1/vms/n1/start
  [[ "$STATUS" != 200 ]] || fail "n1 started on a clashing CIDR"
  grep_q "network.nat.ipv4 192.0.2.0/25 overlaps the host's route to 192.0.2.0/24 on $VQ" \
    <<<"$BODY" || fail "the error does not name the CIDR and the route: $BODY"
  ! inq ip link show qmd0 >/dev/null 2>&1 || fail "bridge qmd0 is left"
  ! inq nft list tables | grep_q qmd || fail "tables left"
  [[ ! -s "$T/run/network/dnsmasq.pid" ]] || fail "a dnsmasq pid file is left"
}

scenario_no_tun() {
  log "no /dev/net/tun: the start fails naming it; nothing is left"
  kill_qmd
  QMD_ARGS=()
  # qmd in a mount namespace of its own whose /dev/net is empty.
  QMD_WRAP=(unshare -m --propagation private sh -c
    'mount -t tmpfs qmdnotun /dev/net && exec "$@"' sh ip netns exec "$NSQ")
  start_qmd
  api POST /v1/vms/n1/start
  [[ "$STATUS" != 200 ]] || fail "n1 started without /dev/net/tun"
  grep_q "/dev/net/tun: No such file or directory; the NAT network's taps need it" <<<"$BODY" ||
    fail "the error does not name /dev/net/tun: $BODY"
  ! inq ip link show qmd0 >/dev/null 2>&1 || fail "bridge qmd0 is left"
  ! inq nft list tables | grep_q qmd || fail "tables left"
  [[ ! -s "$T/run/network/dnsmasq.pid" ]] || fail "a dnsmasq pid file is left"
}

make_namespaces
# QEMU is not root (lib.sh's QEMU_USER, a uid per VM) and may not open /dev/net/tun (0600
# root here): it gets its taps as descriptors from qmd.
QMD_MASQUERADE=nat
QMD_WRAP=(ip netns exec "$NSQ")
e2e_setup
start_uplink
nat_vm n1 02:00:00:5a:00:01 "" "vmNetworkCIDR: 10.77.7.0/24"  # not applied on the NAT network
nat_vm n2 02:00:00:5a:00:02 "{name: http, port: 8000}"
qm start n1 >/dev/null || fail "start n1"
qm start n2 >/dev/null || fail "start n2"
inq ip link show qmd0 >/dev/null || fail "no bridge qmd0 in qmd's namespace"
! ip link show qmd0 >/dev/null 2>&1 || fail "a qmd0 on the host's own network"
wait_agent n1 120
wait_agent n2 120

IP1=$(nat_ip n1)
IP2=$(nat_ip n2)
# The scenarios build on each other (one network, one qmd at a time): in order, and the first
# failure ends the test with its reason.
for s in scenario_dhcp_stable_address scenario_dns_and_uplink scenario_reachable \
  scenario_port_forward scenario_spoofing_dropped scenario_hotplug_nic \
  scenario_hot_nic_across_restarts scenario_restarts scenario_down_and_stable scenario_clashing_cidr \
  scenario_no_tun; do
  "$s"
  echo "PASS $s"
done
