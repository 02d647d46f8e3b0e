#!/usr/bin/env bash
# Two qmds of one host, each with a NAT network of its own, end to end (root only; exit 77
# otherwise), never on the host's own network: both run inside the network namespace this
# test makes (NSQ, with a veth to NSU, the uplink; netns_lib.sh). qmd A's NAT network is
# bridge qmda (10.93.0.0/24), qmd B's qmdb (10.94.0.0/24), each in tables qmd-BRIDGE. Both
# guests get their addresses by DHCP and reach the uplink, NATed. `nft flush table` of A's
# own tables is repaired by A's watch, and B's tables (the same handles) and guest stay as
# they were; A's network taken down leaves B's tables and guest working. A third qmd that
# wants bridge qmdb (as its NAT network's) or qmda (as a managed bridge network's) is refused
# at start, naming the bridge and the lock file fuser reads to find its qmd, and changes
# nothing; one with a bridge of its own but B's CIDR is refused at bring-up, naming qmdb.
# Tables `qmd` an older qmd left are left alone while they name another bridge that is
# there, and removed once nobody's.
source "$(dirname "$0")/lib.sh"
need_root_and_tools "network namespaces, bridges and nftables" ip nft dnsmasq curl
source "$(dirname "$0")/nat_lib.sh"

QMD_B_PID=
QMD_E_PID=
EXIT_HOOKS+=('[[ -n "$QMD_B_PID" ]] && kill -KILL "$QMD_B_PID" 2>/dev/null')
EXIT_HOOKS+=('[[ -n "$QMD_E_PID" ]] && kill -KILL "$QMD_E_PID" 2>/dev/null')
EXIT_HOOKS+=('[[ "${rc:-0}" != 0 && -f "$T/qmd-b.log" ]] && { echo "--- qmd B log (last 40 lines) ---";
  tail -n 40 "$T/qmd-b.log"; } >&2')

# qmd B: its own state and run dirs and NAT network, in the same namespace as A.
start_qmd_b() {
  ip netns exec "$NSQ" "$QMD_BIN" --state-dir "$T/b-state" --run-dir "$T/b-run" \
    --storage-root "$S" --emulation --log-level debug --qemu-user root \
    --masquerade nat --config "$T/b.yaml" >>"$T/qmd-b.log" 2>&1 &
  QMD_B_PID=$!
  wait_for 20 "qmd B to answer" curl -sf --max-time 2 --unix-socket "$SOCK_B" \
    http://qmd/v1/host -o /dev/null
}
on_b() { SOCK=$SOCK_B "$@"; }  # on_b FUNCTION ARGS: lib.sh's and nat_lib.sh's helpers on B

uplink_from() {  # uplink_from SOCKET VM: the guest fetches the uplink's token
  [[ "$("$QMCTL_BIN" -s "$1" exec "$2" -- wget -qO- "http://$UPLINK:8080/token" 2>/dev/null)" == \
    "uplink-token-$$" ]]
}
tables_of() { inq nft -a list table inet "qmd-$1" && inq nft -a list table bridge "qmd-$1"; }
repairs() { "$QMCTL_BIN" -s "$1" -o json network | json_get 'd["repairs"]'; }
# A qmd's watch has run (again): its tools' log, which each look appends to, grew past SIZE.
watched() { (($(stat -c %s "$1/network/tools.log") > $2)); }
wait_watch() {  # wait_watch RUNDIR: until the watch of that qmd has run once more
  local size
  size=$(stat -c %s "$1/network/tools.log")
  wait_for 30 "the watch of $1 to run" watched "$1" "$size"
}
# What a refused qmd could have changed in the namespace: links, addresses, the ruleset.
host_state() {
  inq ip -o link show | awk '{print $2}'
  inq ip -o addr show | awk '{print $2, $4}'
  inq nft -a list ruleset
}

scenario_both_up() {
  log "each qmd's guest gets its address by DHCP on its own bridge and reaches the uplink"
  [[ "$IPA" == 10.93.0.2 && "$IPB" == 10.94.0.2 ]] || fail "addresses: a1 $IPA, b1 $IPB"
  wait_for 90 "a1's DHCP lease $IPA" guest_ip_is a1 "$IPA"
  wait_for 90 "b1's DHCP lease $IPB" on_b guest_ip_is b1 "$IPB"
  uplink_from "$SOCK" a1 || fail "a1 cannot fetch from the uplink"
  uplink_from "$SOCK_B" b1 || fail "b1 cannot fetch from the uplink"
  inq nft list table bridge qmd-qmda | grep_q "ip saddr $IPA accept" || fail "no guard of a1"
  inq nft list table bridge qmd-qmdb | grep_q "ip saddr $IPB accept" || fail "no guard of b1"
  ! inq nft list table bridge qmd-qmda | grep_q "$IPB" || fail "b1's guard is in A's table"
  ! inq nft list table inet qmd-qmdb | grep_q "10.93.0.0" || fail "A's CIDR is in B's table"
}

scenario_legacy_left_alone() {
  log "tables qmd of an older qmd naming another bridge that is there: left alone"
  inq nft list table inet qmd | grep_q 'iifname "oldbr"' || fail "the planted table is gone"
  inq nft list table bridge qmd >/dev/null || fail "the planted bridge table is gone"
  grep_q "nftables tables inet/bridge qmd of an older qmd's NAT network on bridge oldbr are left alone" \
    "$T/qmd.log" || fail "A's log does not say it left them"
}

scenario_flush_own_table() {
  log "nft flush table of A's own tables: A's watch repairs them; B's stay as they were"
  local before_b
  before_b=$(tables_of qmdb) || fail "B's tables"
  inq nft flush table bridge qmd-qmda || fail "flush A's bridge table"
  inq nft flush table inet qmd-qmda || fail "flush A's inet table"
  repaired() { [[ "$(repairs "$SOCK")" -ge 1 ]]; }
  wait_for 40 "A's watch to rebuild its rules" repaired
  grep_q "NAT network qmda: qmd's nftables rules were gone or altered" "$T/qmd.log" ||
    fail "the repair is not in A's log"
  inq nft list table bridge qmd-qmda | grep_q "ip saddr $IPA accept" || fail "a1's guard is not back"
  uplink_from "$SOCK" a1 || fail "a1 lost the uplink after the repair"
  # The rebuilt tables are whole: A's next look finds nothing to do.
  wait_watch "$T/run"
  [[ "$(repairs "$SOCK")" == 1 ]] || fail "A repaired $(repairs "$SOCK") times"
  # B's watch has run since: it found nothing to do, and touched nothing.
  wait_watch "$T/b-run"
  [[ "$(repairs "$SOCK_B")" == 0 ]] || fail "B repaired $(repairs "$SOCK_B") times"
  [[ "$(tables_of qmdb)" == "$before_b" ]] || fail "B's tables changed:
$(diff <(echo "$before_b") <(tables_of qmdb))"
  uplink_from "$SOCK_B" b1 || fail "b1 lost the uplink"
}

# A third qmd's start with config FILE is refused naming KEY and BRIDGE; nothing changes.
third_refused() {
  local file=$1 key=$2 bridge=$3 masquerade=$4 before status lock holders
  before=$(host_state)
  timeout 30 ip netns exec "$NSQ" "$QMD_BIN" --state-dir "$T/c-state" --run-dir "$T/c-run" \
    --storage-root "$S" --emulation --qemu-user root --masquerade "$masquerade" \
    --config "$file" >"$T/qmd-c.log" 2>&1
  status=$?
  [[ $status == 1 ]] || fail "the third qmd did not refuse (exit $status): $(cat "$T/qmd-c.log")"
  lock="$BRIDGE_LOCKS-$bridge.lock"
  grep_q -F "$key $bridge: another qmd running on this host runs this bridge (\`fuser -v $lock\` names it)" \
    "$T/qmd-c.log" || fail "the refusal: $(cat "$T/qmd-c.log")"
  [[ "$(host_state)" == "$before" ]] || fail "the refused qmd changed the namespace:
$(diff <(echo "$before") <(host_state))"
  [[ ! -e "$T/c-run/network" ]] || fail "the refused qmd made $T/c-run/network"
  # The lock file names the qmd that holds the bridge, and only it (its children get no copy).
  if command -v fuser >/dev/null; then
    holders=$(fuser "$lock" 2>/dev/null | xargs)
  else
    holders=$(for p in /proc/[0-9]*; do ls -l "$p/fd" 2>/dev/null | grep_q -F "$lock" && echo "${p#/proc/}"; done | xargs)
  fi
  echo "$holders"
}

scenario_third_refused() {
  log "a third qmd wanting a bridge another qmd holds is refused at start; nothing changes"
  printf 'network:\n  nat: {bridge: qmdb, ipv4: 10.95.0.0/24}\n' >"$T/c.yaml"
  local holders
  holders=$(third_refused "$T/c.yaml" network.nat.bridge qmdb nat) || exit 1
  [[ "$holders" == "$QMD_B_PID" ]] || fail "fuser names '$holders', not qmd B ($QMD_B_PID)"
  printf 'bridges:\n  lab:\n    bridge: qmda\n    ipv4: 10.95.0.0/24\n' >"$T/d.yaml"
  holders=$(third_refused "$T/d.yaml" "bridges.lab.bridge ($T/d.yaml:3:13)" qmda user) || exit 1
  [[ "$holders" == "$QMD_PID" ]] || fail "fuser names '$holders', not qmd A ($QMD_PID)"
  uplink_from "$SOCK" a1 && uplink_from "$SOCK_B" b1 || fail "a guest lost the uplink"
}

scenario_overlapping_cidr_refused() {
  log "a third qmd with a bridge of its own but B's CIDR: refused at bring-up, naming qmdb"
  printf 'network:\n  nat: {bridge: qmdc, ipv4: 10.94.0.0/24}\n' >"$T/e.yaml"
  ip netns exec "$NSQ" "$QMD_BIN" --state-dir "$T/e-state" --run-dir "$T/e-run" \
    --storage-root "$S" --emulation --qemu-user root --masquerade nat \
    --config "$T/e.yaml" >"$T/qmd-e.log" 2>&1 &
  QMD_E_PID=$!
  local sock=$T/e-run/qmd.sock
  wait_for 20 "qmd E to answer" curl -sf --max-time 2 --unix-socket "$sock" \
    http://qmd/v1/host -o /dev/null
  SOCK=$sock nat_vm e1 02:00:00:5f:00:01
  SOCK=$sock api POST /v1/vms/e1/start
  [[ "$STATUS" != 200 ]] || fail "e1 started on B's CIDR"
  grep_q "network.nat.ipv4 10.94.0.0/24 overlaps the host's route to 10.94.0.0/24 on qmdb" \
    <<<"$BODY" || fail "the refusal: $BODY"
  ! inq ip link show qmdc >/dev/null 2>&1 || fail "bridge qmdc is left"
  ! inq nft list tables | grep_q qmd-qmdc || fail "tables left: $(inq nft list tables)"
  kill -KILL "$QMD_E_PID"
  wait "$QMD_E_PID" 2>/dev/null || true  # killed: 137
  QMD_E_PID=
  uplink_from "$SOCK_B" b1 || fail "b1 lost the uplink"
}

scenario_down_leaves_other() {
  log "A's network taken down: B's tables and guest keep working"
  local before_b
  before_b=$(tables_of qmdb) || fail "B's tables"
  qm kill a1 >/dev/null || fail "kill a1"
  wait_state a1 stopped 20
  qm network down >/dev/null || fail "network down on A"
  ! inq ip link show qmda >/dev/null 2>&1 || fail "bridge qmda is left"
  ! inq nft list tables | grep_q "qmd-qmda" || fail "A's tables are left: $(inq nft list tables)"
  [[ "$(tables_of qmdb)" == "$before_b" ]] || fail "B's tables changed:
$(diff <(echo "$before_b") <(tables_of qmdb))"
  uplink_from "$SOCK_B" b1 || fail "b1 lost the uplink"
  # DHCP from B's dnsmasq still answers: the guest renews and keeps its address.
  on_b qm exec b1 -- udhcpc -i eth0 -q -n -t 5 -T 1 -s /usr/share/udhcpc/default.script \
    >/dev/null || fail "no DHCP answer on B's network"
  on_b guest_ip_is b1 "$IPB" || fail "b1's address after the renewal"
}

scenario_legacy_removed() {
  log "tables qmd an older qmd left for a bridge that is gone: removed at A's next start"
  inq nft delete table inet qmd
  inq nft -f - <<EOF || fail "plant the older qmd's table"
table inet qmd {
  chain forward { type filter hook forward priority 0; iifname "qmda" accept; }
}
EOF
  kill_qmd
  start_qmd
  wait_for 20 "A to remove the older qmd's tables" \
    grep_q "removed the nftables tables qmd (inet and bridge) an older qmd left for bridge qmda" \
    "$T/qmd.log"
  ! inq nft list table inet qmd >/dev/null 2>&1 || fail "table inet qmd is left"
  ! inq nft list table bridge qmd >/dev/null 2>&1 || fail "table bridge qmd is left"
  inq nft list table bridge qmd-qmdb | grep_q "ip saddr $IPB accept" || fail "B's guard went"
  uplink_from "$SOCK_B" b1 || fail "b1 lost the uplink"
}

make_namespaces
QEMU_USER=root  # /dev/net/tun is 0600 root on these build hosts (see e2e_bridge.sh)
QMD_MASQUERADE=nat
QMD_WRAP=(ip netns exec "$NSQ")
e2e_dir
SOCK_B=$T/b-run/qmd.sock
printf 'network:\n  nat: {bridge: qmda, ipv4: 10.93.0.0/24}\n' >"$T/a.yaml"
printf 'network:\n  nat: {bridge: qmdb, ipv4: 10.94.0.0/24}\n' >"$T/b.yaml"
QMD_ARGS=(--config "$T/a.yaml")
# What an older qmd running a NAT network on another bridge that is there (oldbr) left: A
# must leave it alone.
inq ip link add oldbr type bridge || fail "make bridge oldbr"
inq nft -f - <<EOF || fail "plant an older qmd's tables"
table inet qmd {
  chain forward { type filter hook forward priority 0; iifname "oldbr" accept; }
}
table bridge qmd {
  chain prerouting { type filter hook prerouting priority -200; }
}
EOF
e2e_setup
start_qmd_b
start_uplink
nat_vm a1 02:00:00:5d:00:01
on_b nat_vm b1 02:00:00:5e:00:01
qm start a1 >/dev/null || fail "start a1"
on_b qm start b1 >/dev/null || fail "start b1"
inq ip link show qmda >/dev/null || fail "no bridge qmda in the namespace"
inq ip link show qmdb >/dev/null || fail "no bridge qmdb in the namespace"
wait_agent a1 120
on_b wait_agent b1 120

IPA=$(nat_ip a1)
IPB=$(on_b nat_ip b1)
for s in scenario_both_up scenario_legacy_left_alone scenario_flush_own_table \
  scenario_third_refused scenario_overlapping_cidr_refused scenario_down_leaves_other \
  scenario_legacy_removed; do
  "$s"
  echo "PASS $s"
done
