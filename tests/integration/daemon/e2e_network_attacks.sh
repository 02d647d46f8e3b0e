#!/usr/bin/env bash
# Attacks on the managed NAT network, each performed and shown to fail (root only; exit 77
# otherwise), with qmd inside network namespaces the test makes (nat_lib.sh), never on the
# host's own network. Guests v1 (the victim: 2 vCPUs, a multiqueue tap, port 18080
# forwarded) and v2 (the attacker):
# - a VM whose tap binding names v1's tap, or a tap on qmd0, does not start (the error names
#   the interface, the tap and whose it is); a tap kept open after v1 stops leaves qmd0,
#   and v1 does not start again on it while it is held (IFF_TUN_EXCL);
# - frames from a port of qmd0 that is no guest's are dropped once qmd's watch finds it;
# - DHCPRELEASE/DECLINE forged by v2 for v1 (its chaddr, or its client id) do not take v1's
#   lease, while v2's own RELEASE does take its own (the control);
# - a host service cannot bind the port v1's forward holds (also after a qmd restart), and
#   can once v1 stops;
# - `nft flush ruleset` takes qmd's rules: the watch rebuilds tables, guards and forwards;
# - a guest reaches no link-local (169.254.0.0/16, cloud metadata) address beyond the host;
# - a DNAT rule left by an earlier run for a VM that is not adopted goes at adoption.
source "$(dirname "$0")/lib.sh"
need_root_and_tools "network namespaces, bridges and nftables" ip nft dnsmasq curl python3 cc base64 ss
source "$(dirname "$0")/nat_lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
FRAMES=$HERE/nat_frames.py
MAC1=52:54:61:62:63:64
MAC2=52:54:61:62:63:65
PORT=18080

# attack_vm NAME MAC [mq] [ports]: one masquerade interface on the pod network; mq: 2 vCPUs
# and networkInterfaceMultiqueue (a multiqueue tap, which a second process can open).
attack_vm() {
  local name=$1 mac=$2 mq=${3:-} ports=${4:-} file
  file=$(spec "$name")
  sed -i "s/^          interfaces: \[\]$/          interfaces: [{name: default, masquerade: {}, macAddress: \"$mac\", ports: [$ports]}]/" "$file"
  sed -i 's/^      networks: \[\]$/      networks: [{name: default, pod: {}}]/' "$file"
  if [[ -n "$mq" ]]; then
    sed -i 's/^        cpu: {cores: 1}$/        cpu: {cores: 2}/' "$file"
    sed -i 's/^          autoattachGraphicsDevice: false$/&\n          networkInterfaceMultiqueue: true/' "$file"
  fi
  qm create -f "$file" >/dev/null || fail "create $name"
}

# tap_vm NAME TAP: a VM whose one interface is a tap binding naming TAP, multiqueue as the
# attack on a multiqueue tap needs.
tap_vm() {
  local file
  file=$(spec "$1")
  sed -i "s/^          interfaces: \[\]$/          interfaces: [{name: steal, tap: {name: \"$2\"}}]/" "$file"
  sed -i 's/^      networks: \[\]$/      networks: [{name: steal, multus: {networkName: steal}}]/' "$file"
  sed -i 's/^        cpu: {cores: 1}$/        cpu: {cores: 2}/' "$file"
  sed -i 's/^          autoattachGraphicsDevice: false$/&\n          networkInterfaceMultiqueue: true/' "$file"
  qm create -f "$file" >/dev/null || fail "create $1"
}

tap_of() {
  qm -o json network | json_get "[a['tap'] for a in d['attached'] if a['vm'] == '$1'][0]"
}
lease_of() { grep_q " $1 $2 " "$T/run/network/dnsmasq.leases"; }
logged() { grep_q "$1" "$T/qmd.log"; }
# A port joining or leaving qmd0 may change the bridge's MAC (the lowest of its ports'): the
# guests ask for the gateway's again.
fresh_arp() {
  qm exec v1 -- ip neigh flush dev eth0 >/dev/null 2>&1
  qm exec v2 -- ip neigh flush dev eth0 >/dev/null 2>&1
  return 0
}
on_qmd0() { [[ "$(inq readlink "/sys/class/net/$1/master" 2>/dev/null)" == */qmd0 ]]; }

scenario_tap_binding_refused() {
  log "a tap binding naming v1's tap, or a port of qmd0, is refused; nothing changes"
  api POST /v1/vms/thief/start
  [[ "$STATUS" != 200 ]] || fail "thief started on v1's tap $TAP1"
  grep_q "interface steal: tap $TAP1 has the form of the taps qmd makes" <<<"$BODY" &&
    grep_q "(it is VM v1's, interface default)" <<<"$BODY" || fail "the refusal: $BODY"
  [[ "$(vm_state thief)" != running ]] || fail "thief is running"
  on_qmd0 "$TAP1" || fail "v1's tap left qmd0"
  qm exec v1 -- ping -c 1 -W 5 "$GW" >/dev/null || fail "v1 lost its network"
  # A tap of the test's own on qmd0 (it also stands for any port that is no guest's below).
  inq ip tuntap add dev evil0 mode tap multi_queue || fail "make evil0"
  inq ip link set evil0 master qmd0 || fail "evil0 on qmd0"
  inq ip link set evil0 up
  api POST /v1/vms/thief2/start
  [[ "$STATUS" != 200 ]] || fail "thief2 started on a port of qmd0"
  grep_q "interface steal: tap evil0 is a port of bridge qmd0, which qmd manages" <<<"$BODY" ||
    fail "the refusal: $BODY"
  fresh_arp
}

scenario_stray_port_dropped() {
  log "frames from a port of qmd0 that is no guest's are dropped once the watch finds it"
  inq nft -f - <<PROBE
table ip qmdprobe {
  counter stray {}
  chain input {
    type filter hook input priority -300; policy accept;
    ip saddr 10.91.0.77 icmp type echo-request counter name "stray"
  }
}
PROBE
  wait_for 30 "qmd's watch to find evil0" logged "port evil0 is no guest's; its frames are dropped"
  local brmac
  brmac=$(inq cat /sys/class/net/qmd0/address)
  inq python3 "$FRAMES" inject evil0 02:00:00:00:00:77 "$brmac" 10.91.0.77 "$GW" 10 ||
    fail "inject into evil0"
  [[ "$(counter stray)" == 0 ]] || fail "$(counter stray) frames of the stray port reached the host"
  # Control: out of the set for a moment, the same frames arrive (the watch puts it back).
  inq nft delete element bridge qmd-qmd0 nat_taps '{ "evil0" }' || fail "take evil0 out of nat_taps"
  inq python3 "$FRAMES" inject evil0 02:00:00:00:00:77 "$brmac" 10.91.0.77 "$GW" 10
  counter_above stray 0 || fail "the control: the stray's frames did not arrive without the drop"
  back() { inq nft get element bridge qmd-qmd0 nat_taps '{ "evil0" }' >/dev/null 2>&1; }
  wait_for 30 "the watch to drop evil0 again" back
  inq nft delete table ip qmdprobe
  inq ip link del evil0
  fresh_arp
}

scenario_dhcp_forged() {
  log "DHCPRELEASE/DECLINE forged by v2 for v1 leave v1's lease; v2's own RELEASE works"
  wait_for 30 "v1's lease in dnsmasq" lease_of "$MAC1" "$IP1"
  wait_for 30 "v2's lease in dnsmasq" lease_of "$MAC2" "$IP2"
  local tool packet
  tool=$(base64 -w0 "$T/udp_send")
  qm exec v2 -- sh -c "echo $tool | base64 -d >/tmp/udp_send && chmod +x /tmp/udp_send" \
    >/dev/null || fail "copy udp_send into v2"
  send() {
    packet=$(python3 "$FRAMES" dhcp "$@")
    qm exec v2 -- /tmp/udp_send "$GW" 67 "$packet" >/dev/null || fail "send from v2: $*"
  }
  send release "$MAC1" "$IP1" "$GW"          # v1's chaddr
  send decline "$MAC1" "$IP1" "$GW"          # v1's chaddr: v1's address declined
  send release "$MAC2" "$IP1" "$GW" "$MAC1"  # v2's own chaddr, v1's client id
  send release "$MAC2" "$IP2" "$GW"          # the control: v2's own lease
  released() { ! lease_of "$MAC2" "$IP2"; }
  wait_for 20 "v2's own RELEASE to free its lease" released
  lease_of "$MAC1" "$IP1" || fail "v1's lease went: $(cat "$T/run/network/dnsmasq.leases")"
  ! grep_q "DHCPDECLINE" "$T/run/network/dnsmasq.log" || fail "dnsmasq saw the forged DECLINE"
  # v1 asks again: with no DECLINE taken, dnsmasq offers v1 its own address.
  qm exec v1 -- udhcpc -i eth0 -q -n -t 5 -T 1 -s /usr/share/udhcpc/default.script >/dev/null ||
    fail "v1 got no DHCP answer after the forged DECLINE"
  guest_ip_is v1 "$IP1" || fail "v1's address after the forged DECLINE"
  qm exec v2 -- udhcpc -i eth0 -q -n -t 5 -T 1 -s /usr/share/udhcpc/default.script >/dev/null ||
    fail "v2 got no lease back"
}

scenario_port_held() {
  log "a host service cannot bind v1's forwarded port while v1 runs"
  local out
  out=$(inq python3 -c "import socket; s = socket.socket(socket.AF_INET6); \
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('::', $PORT)); s.listen(1)" 2>&1) &&
    fail "a host service bound port $PORT under v1's forward"
  grep_q "Address already in use" <<<"$out" || fail "the bind failed otherwise: $out"
  inq nft -j list chain inet qmd-qmd0 portforwards | grep_q "\"addr\": \"$IP1\"" || fail "no DNAT to v1"
}

scenario_flush_repaired() {
  log "nft flush ruleset: qmd's watch rebuilds tables, guards and forwards"
  inq nft flush ruleset
  repaired() { [[ "$(qm -o json network | json_get 'd["repairs"]')" -ge 1 ]]; }
  wait_for 30 "qmd's watch to rebuild its rules" repaired
  logged "rules were gone or altered" || fail "the repair is not in qmd's log"
  inq nft list chain bridge qmd-qmd0 "vm-$TAP1" >/dev/null || fail "v1's guard is not back"
  inq nft list chain bridge qmd-qmd0 "vm-$TAP2" >/dev/null || fail "v2's guard is not back"
  inq nft get element bridge qmd-qmd0 ports "{ \"$TAP1\" }" >/dev/null || fail "v1 not in map ports"
  inq nft -j list chain inet qmd-qmd0 portforwards | grep_q "\"addr\": \"$IP1\"" ||
    fail "v1's DNAT is not back"
  qm exec v2 -- wget -qO- "http://uplink.test:8080/token" >/dev/null || fail "v2 lost the uplink"
}

scenario_port_held_adopted() {
  log "a restarted qmd holds the forwarded port of the VM it adopts again"
  kill_qmd
  start_qmd
  wait_state v1 running 30
  wait_state v2 running 30
  scenario_port_held
}

scenario_stale_dnat_removed() {
  log "a DNAT rule an earlier run left for a VM that is not adopted goes at adoption"
  # v1 is stopped; v2, which forwards nothing, is the only VM a restarted qmd adopts. The rule
  # stands for the forward of a VM whose QEMU died while qmd was down.
  kill_qmd
  inq nft add rule inet qmd-qmd0 portforwards tcp dport 18999 dnat ip to 10.91.0.250:80
  start_qmd
  wait_state v2 running 30
  ! inq nft list chain inet qmd-qmd0 portforwards | grep_q 18999 ||
    fail "the stale DNAT stayed: $(inq nft list chain inet qmd-qmd0 portforwards)"
}

scenario_link_local() {
  log "a guest reaches no link-local address beyond the host (cloud metadata)"
  inu ip addr add 169.254.169.254/32 dev "$VU"
  inq ip route add 169.254.169.254/32 via "$UPLINK"
  ip netns exec "$NSU" python3 -m http.server --bind 169.254.169.254 8080 --directory "$T/www" \
    >"$T/metadata.log" 2>&1 &
  EXTRA_PIDS+=($!)
  metadata_up() { inq curl -sf --max-time 2 "http://169.254.169.254:8080/token" >/dev/null; }
  wait_for 20 "the metadata stand-in, from qmd's namespace" metadata_up
  qm exec v2 -- timeout 5 wget -qO- "http://169.254.169.254:8080/token" >/dev/null &&
    fail "v2 reached 169.254.169.254"
  [[ "$(grep -c 'GET /token' "$T/metadata.log")" == 1 ]] ||
    fail "the metadata stand-in saw more than qmd's namespace: $(cat "$T/metadata.log")"
  # The same server on the uplink's ordinary address is reached: only link-local is dropped.
  qm exec v2 -- timeout 10 wget -qO- "http://$UPLINK:8080/token" >/dev/null || fail "v2 lost the uplink"
}

scenario_tap_kept_open() {
  log "v1's tap held open by another process leaves qmd0 when v1 stops"
  ip netns exec "$NSQ" python3 "$FRAMES" hold "$TAP1" >"$T/hold.log" 2>&1 &
  local holder=$!
  EXTRA_PIDS+=("$holder")
  holding() { grep_q holding "$T/hold.log"; }
  wait_for 10 "a second holder of $TAP1" holding
  qm kill v1 >/dev/null || fail "kill v1"
  wait_state v1 stopped 30
  inq ip link show "$TAP1" >/dev/null 2>&1 || fail "the held tap did not outlive v1"
  ! on_qmd0 "$TAP1" || fail "the held tap $TAP1 is still on qmd0"
  # v1 again while the other process holds its tap: refused, never a tap shared with it.
  api POST /v1/vms/v1/start
  [[ "$STATUS" != 200 ]] || fail "v1 started on a tap another process holds"
  grep_q "tap $TAP1: an interface of that name exists and is in use" <<<"$BODY" ||
    fail "the refusal: $BODY"
  [[ "$(vm_state v1)" != running ]] || fail "v1 is running"
  ! on_qmd0 "$TAP1" || fail "the held tap $TAP1 joined qmd0"
  kill "$holder"
  tap_gone() { ! inq ip link show "$TAP1" >/dev/null 2>&1; }
  wait_for 10 "the tap to go with its holder" tap_gone
  inq python3 -c "import socket; s = socket.socket(socket.AF_INET6); s.bind(('::', $PORT))" ||
    fail "port $PORT is not free after v1 stopped"
}

make_namespaces
QEMU_USER=root  # /dev/net/tun is 0600 root on these build hosts (see e2e_bridge.sh)
QMD_MASQUERADE=nat
QMD_WRAP=(ip netns exec "$NSQ")
e2e_setup
cc -static -nostdlib -Os -fno-stack-protector -fno-pie -no-pie -o "$T/udp_send" \
  "$HERE/udp_send.c" || fail "build udp_send"
start_uplink
attack_vm v1 "$MAC1" mq "{name: web, port: $PORT}"
attack_vm v2 "$MAC2"
qm start v1 >/dev/null || fail "start v1"
qm start v2 >/dev/null || fail "start v2"
wait_agent v1 180
wait_agent v2 120
IP1=$(nat_ip v1)
IP2=$(nat_ip v2)
TAP1=$(tap_of v1)
TAP2=$(tap_of v2)
wait_for 90 "v1's DHCP lease $IP1" guest_ip_is v1 "$IP1"
wait_for 90 "v2's DHCP lease $IP2" guest_ip_is v2 "$IP2"
tap_vm thief "$TAP1"
tap_vm thief2 evil0
# In order, and the first failure ends the test with its reason.
for s in scenario_tap_binding_refused scenario_stray_port_dropped scenario_dhcp_forged \
  scenario_port_held scenario_port_held_adopted scenario_flush_repaired scenario_link_local \
  scenario_tap_kept_open scenario_stale_dnat_removed; do
  "$s"
  echo "PASS $s"
done
