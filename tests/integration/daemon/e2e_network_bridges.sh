#!/usr/bin/env bash
# Bridges qmd makes for multus networks, end to end (root only; exit 77 otherwise), never on
# the host's own network: qmd runs inside a network namespace this test makes (NSQ, with a
# veth to NSU, the uplink; netns_lib.sh). qmd.yaml maps network `lab` to a bridge qmd makes
# (qmdlab, 10.92.0.0/24, DHCP, NAT) and `lan` to a host bridge the test made. Two guests on
# lab get their stable addresses by DHCP, reach the gateway, each other and (NATed) the
# uplink; a spoofed source address does not get through; a guest on lan sits on the host
# bridge with no guard (NICs it gets by hotplug there are its own after a qmd restart: one
# detached, the other's tap gone with the VM); a NIC hot-plugged onto lab is refused; a SIGKILL of qmd leaves the bridge and dnsmasq to be taken over, not
# rebuilt; `qmctl network down lab` is refused while VMs use it, then leaves no bridge, table
# or dnsmasq, and the host bridge stays; an interface of the bridge's name that qmd did not
# make is refused, naming the qmd.yaml key and its place, and left alone.
source "$(dirname "$0")/lib.sh"
need_root_and_tools "network namespaces, bridges and nftables" ip nft dnsmasq curl
source "$(dirname "$0")/netns_lib.sh"
GW=10.92.0.1
LANBR=lanbr$$
LANBR=${LANBR:0:15}

write_config() {
  CONF=$T/qmd-bridges.yaml
  cat >"$CONF" <<EOF2
bridges:
  lan: $LANBR
  lab:
    bridge: qmdlab
    ipv4: 10.92.0.0/24
    dhcp: true
    nat: true
EOF2
  QMD_ARGS=(--config "$CONF")
}

# bridge_vm NAME NETWORK MAC: a guest with one bridge interface on multus network NETWORK.
bridge_vm() {
  local name=$1 network=$2 mac=$3 file
  file=$(spec "$name")
  sed -i "s/^          interfaces: \[\]$/          interfaces: [{name: $network, bridge: {}, macAddress: \"$mac\"}]/" "$file"
  sed -i "s/^      networks: \[\]$/      networks: [{name: $network, multus: {networkName: $network}}]/" "$file"
  qm create -f "$file" >/dev/null || fail "create $name"
}

lab_json() { qm -o json network | json_get "$1"; }
lab_ip() { lab_json "[l['ipAddress'] for b in d['bridges'] if b['name']=='lab' for l in b['leases'] if l['vm']=='$1'][0]"; }
guest_ip_is() {
  qm exec "$1" -- ip -4 -o addr show dev eth0 2>/dev/null | grep_q " inet $2/24 "
}
lab_dnsmasq() { lab_json "[b['dnsmasqPid'] for b in d['bridges'] if b['name']=='lab'][0]"; }
tap_of() { qm argv "$1" | sed -n 's/.*ifname=\([^,]*\).*/\1/p' | head -n1; }

scenario_dhcp_stable_address() {
  log "each guest on the bridge qmd made gets the address qmd reports, by DHCP"
  [[ "$IP1" == 10.92.0.2 && "$IP2" == 10.92.0.3 ]] || fail "addresses: b1 $IP1, b2 $IP2"
  wait_for 90 "b1's DHCP lease $IP1" guest_ip_is b1 "$IP1"
  wait_for 90 "b2's DHCP lease $IP2" guest_ip_is b2 "$IP2"
  qm network | grep_q "^network lab (dhcp true, nat true): bridge qmdlab 10.92.0.0/24 gateway $GW: up, dnsmasq pid [0-9]" ||
    fail "qmctl network: $(qm network)"
  qm network | grep_q "^b2 .*lab .*02:00:00:5b:00:02 .*$IP2" || fail "qmctl network: $(qm network)"
  [[ "$(inq cat /sys/class/net/qmdlab/ifalias)" == "qmd bridge network lab" ]] ||
    fail "qmdlab carries no mark of qmd's"
  inq nft list table bridge qmd-qmdlab | grep_q "ip saddr $IP1 accept" ||
    fail "no guard with b1's address: $(inq nft list table bridge qmd-qmdlab)"
}

scenario_reachable() {
  log "the guests reach the gateway and each other; qmd's namespace reaches them"
  qm exec b1 -- ping -c 2 -W 2 "$GW" >/dev/null || fail "b1 cannot ping the gateway"
  qm exec b2 -- sh -c 'mkdir -p /tmp/www && echo b2-page >/tmp/www/index.html &&
    busybox httpd -p 8000 -h /tmp/www' >/dev/null || fail "httpd in b2"
  served() { [[ "$(inq curl -sf --max-time 2 "http://$IP2:8000/")" == b2-page ]]; }
  wait_for 20 "b2's page from qmd's namespace" served
  local out
  out=$(qm exec b1 -- wget -qO- "http://$IP2:8000/") || fail "b1 -> b2: $out"
  [[ "$out" == b2-page ]] || fail "b1 got '$out' from b2"
}

scenario_nat_uplink() {
  log "with nat: a guest resolves uplink.test and fetches from the uplink, NATed"
  local out
  out=$(qm exec b1 -- nslookup uplink.test) || fail "nslookup: $out"
  grep_q "$UPLINK" <<<"$out" || fail "uplink.test did not resolve to $UPLINK: $out"
  out=$(qm exec b1 -- wget -qO- "http://$UPLINK:8080/token") || fail "wget: $out"
  [[ "$out" == "uplink-token-$$" ]] || fail "the uplink answered '$out'"
  grep_q '^192\.0\.2\.1 .*GET /token' "$T/http.log" || fail "no NATed request: $(cat "$T/http.log")"
  ! grep_q '^10\.92\.' "$T/http.log" || fail "the guest's own address reached the uplink"
}

scenario_spoofing_dropped() {
  log "a spoofed source address from a guest on the bridge does not get through"
  local brmac
  brmac=$(inq cat /sys/class/net/qmdlab/address)
  qm exec b1 -- arp -i eth0 -s "$GW" "$brmac" >/dev/null || fail "a static neighbour in b1"
  qm exec b1 -- ip addr add 10.92.0.200/32 dev eth0 >/dev/null || fail "add a foreign address"
  qm exec b1 -- ping -c 3 -W 1 -I 10.92.0.200 "$GW" >/dev/null &&
    fail "a ping from a spoofed address was answered"
  qm exec b1 -- ip addr del 10.92.0.200/32 dev eth0 >/dev/null || true
  qm exec b1 -- ping -c 2 -W 2 "$GW" >/dev/null || fail "b1 cannot ping the gateway after"
}

scenario_host_bridge() {
  log "a bridges entry naming a host bridge works as before: the tap on it, no guard"
  local tap master
  tap=$(tap_of b3)
  master=$(basename "$(inq readlink "/sys/class/net/$tap/master")")
  [[ "$master" == "$LANBR" ]] || fail "b3's tap $tap is on '$master', not $LANBR"
  ! inq nft list tables | grep_q "qmd-$LANBR" || fail "qmd made tables for the host bridge"
  ! inq nft list ruleset | grep_q "vm-$tap" || fail "qmd put a guard on the host bridge"
  mac_seen() { inq bridge fdb show br "$LANBR" 2>/dev/null | grep_q -i "02:00:00:5b:00:03"; }
  wait_for 90 "b3's MAC on bridge $LANBR" mac_seen
}

scenario_no_hotplug() {
  log "a NIC hot-plugged onto a bridge qmd makes is refused (it would have no guard)"
  expect_status 400 POST /v1/vms/b1/interfaces -H 'Content-Type: application/json' \
    --data '{"name":"extra","binding":"bridge","network":"lab"}'
  grep_q "network lab is a bridge qmd makes" <<<"$BODY" || fail "the refusal: $BODY"
  ! qm argv b1 | grep_q "net-extra" || fail "the NIC was added"
}

scenario_hot_nic_on_host_bridge() {
  log "NICs hot-plugged onto the host bridge without --persist are b3's after a qmd restart"
  wait_agent b3 120
  local t1 t2
  qm attach-interface b3 --name hot1 --binding bridge --network lan >/dev/null &&
    qm attach-interface b3 --name hot2 --binding bridge --network lan >/dev/null ||
    fail "attach two NICs on lan"
  recorded_tap() {
    json_get "[n['tap'] for n in d['hotNics'] if n['name'] == '$1'][0]" <"$T/state/vms/b3/record.json"
  }
  t1=$(recorded_tap hot1)
  t2=$(recorded_tap hot2)
  [[ "$(basename "$(inq readlink "/sys/class/net/$t1/master")")" == "$LANBR" ]] ||
    fail "hot1's tap $t1 is not on $LANBR"
  kill_qmd
  start_qmd
  wait_state b3 running 30
  qm detach-interface b3 hot1 >/dev/null || fail "detach hot1 after the restart"
  gone() { ! inq ip link show "$1" >/dev/null 2>&1; }
  wait_for 30 "hot1's tap $t1 to go" gone "$t1"
  inq ip link show "$t2" >/dev/null || fail "hot2's tap $t2 went too"
  # The run's end takes the other one's tap with it, and the record forgets both.
  qm kill b3 >/dev/null || fail "kill b3"
  wait_state b3 stopped 20
  gone "$t2" || fail "hot2's tap $t2 outlived b3's QEMU"
  [[ -z "$(json_get 'd.get("hotNics")' <"$T/state/vms/b3/record.json")" ]] ||
    fail "b3's record keeps hot NICs: $(cat "$T/state/vms/b3/record.json")"
}

scenario_restart_adopts() {
  log "SIGKILL of qmd: the bridge and its dnsmasq are taken over, not rebuilt"
  local before ifindex
  before=$(lab_dnsmasq)
  ifindex=$(inq cat /sys/class/net/qmdlab/ifindex)
  [[ -n "$before" ]] && alive "$before" || fail "no dnsmasq: '$before'"
  kill_qmd
  start_qmd
  wait_state b1 running 30
  wait_state b2 running 30
  [[ "$(lab_dnsmasq)" == "$before" ]] || fail "dnsmasq $before was not adopted: $(lab_dnsmasq)"
  [[ "$(inq cat /sys/class/net/qmdlab/ifindex)" == "$ifindex" ]] || fail "qmdlab was made anew"
  grep_q "bridge network lab qmdlab (10.92.0.0/24) taken over as it was" "$T/qmd.log" ||
    fail "qmd's log does not say it took lab over"
  [[ "$(lab_ip b1)" == "$IP1" ]] || fail "b1's address changed across the qmd restart"
  [[ "$(qm exec b1 -- wget -qO- "http://$UPLINK:8080/token")" == "uplink-token-$$" ]] ||
    fail "b1 lost the uplink across the qmd restart"
  inq nft list table bridge qmd-qmdlab | grep_q "ip saddr $IP2 accept" ||
    fail "b2's guard is not back after the restart"
}

scenario_flush_repaired() {
  log "nft flush ruleset: qmd's watch puts the bridge network's tables and guards back"
  local t1
  t1=$(tap_of b1)
  inq nft flush ruleset
  lab_repairs() { lab_json "[b['repairs'] for b in d['bridges'] if b['name']=='lab'][0]"; }
  repaired() { [[ "$(lab_repairs)" -ge 1 ]]; }
  wait_for 30 "qmd's watch to rebuild lab's rules" repaired
  grep_q "qmdlab: qmd's nftables rules were gone or altered" "$T/qmd.log" ||
    fail "the repair is not in qmd's log"
  inq nft list chain bridge qmd-qmdlab "vm-$t1" >/dev/null || fail "b1's guard is not back"
  inq nft list table bridge qmd-qmdlab | grep_q "ip saddr $IP2 accept" ||
    fail "b2's guard is not back"
  [[ "$(qm exec b1 -- wget -qO- "http://$UPLINK:8080/token")" == "uplink-token-$$" ]] ||
    fail "b1 lost the uplink after the repair"
}

scenario_down() {
  log "network down lab: refused while VMs use it; then nothing left; the host bridge stays"
  api POST /v1/network/lab/down
  [[ "$STATUS" == 409 ]] && grep_q 'in use by VM b1, b2' <<<"$BODY" || fail "down: $STATUS $BODY"
  local dns
  dns=$(lab_dnsmasq)
  qm kill b1 >/dev/null && qm kill b2 >/dev/null || fail "kill the VMs"
  wait_state b1 stopped 20
  wait_state b2 stopped 20
  ! inq nft list table bridge qmd-qmdlab | grep_q 'vm-' || fail "guards left after the stop"
  qm network down lab >/dev/null || fail "network down lab"
  ! inq ip link show qmdlab >/dev/null 2>&1 || fail "bridge qmdlab is left"
  ! inq nft list tables | grep_q qmd || fail "tables left: $(inq nft list tables)"
  ! alive "$dns" || fail "dnsmasq $dns is left"
  inq ip link show "$LANBR" >/dev/null || fail "the host bridge $LANBR went with it"
  [[ "$(lab_ip b1)" == "$IP1" ]] || fail "b1's lease was lost by network down"
  expect_status 404 POST /v1/network/nosuch/down
}

scenario_not_ours() {
  log "an interface named like the bridge that qmd did not make: refused, left alone"
  inq ip link add qmdlab type bridge || fail "make a foreign qmdlab"
  api POST /v1/vms/b1/start
  [[ "$STATUS" != 200 ]] || fail "b1 started on a bridge qmd did not make"
  grep_q "bridges.lab.bridge ($CONF:4:13) qmdlab: an interface of that name exists and qmd did not make it" \
    <<<"$BODY" || fail "the error does not name the key and its place: $BODY"
  inq ip link show qmdlab >/dev/null 2>&1 || fail "qmd removed a bridge it did not make"
  ! inq nft list tables | grep_q qmd || fail "tables left: $(inq nft list tables)"
  inq ip link del qmdlab
}

make_namespaces
QEMU_USER=root  # /dev/net/tun is 0600 root on these build hosts (see e2e_bridge.sh)
QMD_WRAP=(ip netns exec "$NSQ")
e2e_dir
write_config
e2e_setup
inq ip link add "$LANBR" type bridge || fail "make the host bridge $LANBR"
inq ip link set "$LANBR" up
start_uplink
bridge_vm b1 lab 02:00:00:5b:00:01
bridge_vm b2 lab 02:00:00:5b:00:02
bridge_vm b3 lan 02:00:00:5b:00:03
qm start b1 >/dev/null || fail "start b1"
qm start b2 >/dev/null || fail "start b2"
qm start b3 >/dev/null || fail "start b3"
inq ip link show qmdlab >/dev/null || fail "no bridge qmdlab in qmd's namespace"
! ip link show qmdlab >/dev/null 2>&1 || fail "a qmdlab on the host's own network"
wait_agent b1 120
wait_agent b2 120

IP1=$(lab_ip b1)
IP2=$(lab_ip b2)
for s in scenario_dhcp_stable_address scenario_reachable scenario_nat_uplink \
  scenario_spoofing_dropped scenario_host_bridge scenario_no_hotplug \
  scenario_hot_nic_on_host_bridge scenario_restart_adopts \
  scenario_flush_repaired scenario_down \
  scenario_not_ours; do
  "$s"
  echo "PASS $s"
done
