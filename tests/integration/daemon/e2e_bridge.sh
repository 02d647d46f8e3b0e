#!/usr/bin/env bash
# A bridge binding end to end (root only; exit 77 = skipped otherwise): qmd makes the VM's tap,
# joins it to the host bridge its config maps the network to, and QEMU -- unprivileged, with
# no right on /dev/net/tun -- gets its queue as a descriptor (never its name) and the guest's
# NIC is up on it; the tap goes with QEMU. A network with no bridge in the config is refused
# at create, naming the network.
source "$(dirname "$0")/lib.sh"
if [[ $(id -u) -ne 0 ]]; then
  echo "skipped: taps and bridges need root"
  exit 77
fi
BR=qmdbr$$
BR=${BR:0:15}
CONF=$(mktemp /tmp/qmd-bridge-conf.XXXXXX)
printf 'bridges:\n  lan: %s\n' "$BR" >"$CONF"
QMD_ARGS=(--config "$CONF")
# The EXIT trap (lib.sh) runs these after qmd and its QEMUs are gone.
EXIT_HOOKS+=("ip link del $BR 2>/dev/null" "rm -f $CONF")
# /dev/net/tun is 0600 root on these build hosts: QEMU (nobody, lib.sh's QEMU_USER) could not
# open the tap by name, and needs not.
e2e_setup
ip link add "$BR" type bridge || { echo "skipped: cannot create a bridge here"; exit 77; }

vm=br1
file=$(spec $vm)
python3 - "$file" <<'PY'
import sys
p = sys.argv[1]
s = open(p).read()
s = s.replace("interfaces: []", "interfaces:\n          - {name: lan, bridge: {}, macAddress: \"02:00:00:aa:bb:01\"}")
s = s.replace("networks: []", "networks:\n      - {name: lan, multus: {networkName: lan}}")
open(p, "w").write(s)
PY
qm create -f "$file" >/dev/null || fail "create $vm"
tap=$(qm argv $vm | sed -n 's/.*ifname=\([^,]*\).*/\1/p' | head -n1)
[[ -n "$tap" ]] || fail "no ifname= in the argv: $(qm argv $vm)"
[[ ! -e /sys/class/net/$tap ]] || fail "tap $tap exists before the start"
qm start $vm >/dev/null || fail "start $vm"
[[ -e /sys/class/net/$tap ]] || fail "no tap $tap after the start"
pid=$(vm_pid $vm)
[[ "$(proc_status "$pid" Uid | cut -f1)" != 0 ]] || fail "QEMU runs as root"
cmdline=$(tr '\0' ' ' </proc/$pid/cmdline)
grep_q -- "-netdev tap,id=net-lan,fd=[0-9]" <<<"$cmdline" || fail "QEMU's tap is not a descriptor: $cmdline"
! grep_q "ifname=" <<<"$cmdline" || fail "QEMU opens a tap by name: $cmdline"
# QEMU holds the tap's queue (a tun descriptor whose fdinfo names it); qmd holds none.
holds_tap() { grep -l "^iff:[[:space:]]*$tap\$" /proc/$1/fdinfo/* 2>/dev/null | wc -l; }
[[ "$(holds_tap "$pid")" == 1 ]] || fail "QEMU holds $(holds_tap "$pid") queues of $tap"
[[ "$(holds_tap "$(current_qmd)")" == 0 ]] || fail "qmd still holds $tap"
(( ($(cat /sys/class/net/$tap/tun_flags) & 0x800) == 0 )) || fail "tap $tap is persistent"
master=$(basename "$(readlink /sys/class/net/$tap/master)")
[[ "$master" == "$BR" ]] || fail "tap $tap is on '$master', not $BR"
wait_agent $vm 120
# The guest's NIC answers on the bridge: its MAC is learnt on the tap's port.
ip link set "$BR" up
mac_seen() { bridge fdb show br "$BR" 2>/dev/null | grep_q -i "02:00:00:aa:bb:01"; }
wait_for 60 "the guest MAC on bridge $BR" mac_seen
qm kill $vm >/dev/null || fail "kill $vm"
wait_state $vm stopped 10
[[ ! -e /sys/class/net/$tap ]] || fail "tap $tap is left after the VM stopped"

log "a network the config has no bridge for is refused at create"
bad=$(spec br2)
python3 - "$bad" <<'PY'
import sys
p = sys.argv[1]
s = open(p).read()
s = s.replace("interfaces: []", "interfaces:\n          - {name: wan, bridge: {}}")
s = s.replace("networks: []", "networks:\n      - {name: wan, multus: {networkName: wan}}")
open(p, "w").write(s)
PY
expect_status 400 POST /v1/vms --data-binary "@$bad"
grep_q 'wan.* is not a bridge qmd knows' <<<"$BODY" || fail "the error does not name the network: $BODY"
log "ok"
