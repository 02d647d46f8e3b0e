#!/usr/bin/env bash
# passt for an unprivileged qmd (root runs it as nobody), in a network namespace this test
# makes (a veth uplink with a default route; the host's own network is never touched): a
# masquerade interface runs on a passt sidecar; the guest gets its address from passt's DHCP
# and reaches a server on the host through passt; a forwarded port whose own number is taken
# on the host moves to network.ports.range, qmctl show and the API say which, and a connection
# to it arrives at the guest's port (Debian 12's passt 0.0~git20230309 leaves that handshake
# in SYN_RECV in the guest, so the server's answer is logged, not required); a second VM
# whose port has no free host port left does not start, with an error naming the VM, the
# interface and the port, and leaves no passt; a restarted qmd adopts the VM with its passt
# and forwards; no passt outlives its VM; with pod.vmNetworkCIDR the guest gets the CIDR's
# second address and its first as the gateway, through which it reaches the host.
source "$(dirname "$0")/lib.sh"
if [[ $(id -u) -ne 0 ]]; then
  echo "skipped: making a network namespace needs root"
  exit 77
fi
command -v passt >/dev/null || { echo "skipped: no passt (apt-get install passt)"; exit 77; }
if [[ -z "${QMD_PASST_NETNS:-}" ]]; then
  # The guest build may need Debian's archive: before leaving the host's network.
  "$QMD_SOURCE_DIR/tests/guest/build-guest.sh" "$QMD_GUEST_DIR" >/dev/null
  exec env QMD_PASST_NETNS=1 unshare --net -- bash "$0" "$@"
fi
ip link set lo up
ip link add uplink0 type veth peer name uplink1  # no dummy driver on every host
ip addr add 198.51.100.2/24 dev uplink0
ip link set uplink1 up
ip link set uplink0 up
ip route add default via 198.51.100.1

GUEST_PORT=8080
RANGE_PORT=18090
CONF=$(mktemp /tmp/qmd-passt-conf.XXXXXX)
printf 'network:\n  ports: {range: "%s-%s"}\n' "$RANGE_PORT" "$RANGE_PORT" >"$CONF"
chmod 0644 "$CONF"
QMD_ARGS=(--config "$CONF")
EXIT_HOOKS+=("rm -f $CONF")
QMD_AS=nobody
e2e_setup

# Something else on the host holds the guest's port number.
python3 -c "
import socket, time
s = socket.socket(socket.AF_INET6); s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind(('::', $GUEST_PORT)); s.listen(1); time.sleep(600)" &
EXTRA_PIDS+=($!)
wait_for 10 "the host's listener on $GUEST_PORT" \
  python3 -c "import socket; socket.create_connection(('127.0.0.1', $GUEST_PORT), 1)"

web_spec() {  # web_spec NAME: the test guest with a masquerade NIC forwarding $GUEST_PORT
  local file
  file=$(spec "$1")
  python3 - "$file" "$GUEST_PORT" <<'PY'
import sys
p, port = sys.argv[1], sys.argv[2]
s = open(p).read()
s = s.replace("interfaces: []", "interfaces:\n          - name: default\n            masquerade: {}\n"
              "            ports: [{name: http, port: %s}]" % port)
s = s.replace("networks: []", "networks:\n      - {name: default, pod: {}}")
open(p, "w").write(s)
PY
  chmod 0644 "$file"
  echo "$file"
}
passt_of() {  # passt_of VM: the pids of its passt
  local p
  for p in $(procs_of_vm "$1"); do
    # argv[0]: QEMU's command line names passt's socket too
    [[ "$(head -z -n1 "/proc/$p/cmdline" 2>/dev/null | tr -d '\0')" == *passt* ]] && echo "$p"
  done
  return 0
}

qm create -f "$(web_spec web)" >/dev/null || fail "create web"
qm start web >/dev/null || fail "start web: $(qm show web 2>&1)"
[[ -n "$(passt_of web)" ]] || fail "no passt runs for web"
pid=$(passt_of web | head -n1)
[[ "$(proc_status "$pid" Uid | cut -f1)" == "$(id -u nobody)" ]] || fail "passt does not run as nobody"
qm argv web | grep_q -x -- "stream,id=net-default,server=off,addr.type=unix,addr.path=$T/run/vms/web/passt-default.sock" ||
  fail "no stream netdev on passt's socket: $(qm argv web | grep -A1 -- -netdev)"
[[ "$(show_field web 'd["portForwards"][0]["hostPort"]')" == "$RANGE_PORT" ]] ||
  fail "the API does not report host port $RANGE_PORT: $(show_field web 'd["portForwards"]')"
qm show web | grep_q -x "port: TCP host $RANGE_PORT -> guest $GUEST_PORT (interface default, http)" ||
  fail "qmctl show does not report the forward: $(qm show web)"
log "web forwards host $RANGE_PORT -> guest $GUEST_PORT through passt $pid"

# reaches_host VM ADDRESS PORT: VM's guest connects through passt's gateway ADDRESS to a
# server on the host's loopback (passt maps the gateway to the host) and sends a line.
reaches_host() {
  local vm=$1 address=$2 port=$3 got=$T/from-$1 receiver
  python3 -c "
import socket, sys
s = socket.socket(); s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen(1); s.settimeout(60)
c, _ = s.accept(); c.settimeout(30); print(c.recv(64).decode().strip())" "$port" >"$got" &
  receiver=$!
  EXTRA_PIDS+=($receiver)
  sent() { qm exec "$vm" -- sh -c "echo qmd-$vm-out | nc -w 5 $address $port" >/dev/null 2>&1; }
  wait_for 60 "$vm to connect to the host through $address" sent
  wait "$receiver" || true
  [[ "$(cat "$got")" == "qmd-$vm-out" ]] || fail "the host got \"$(cat "$got")\" from $vm"
}

wait_agent web 120
has_address() { qm exec web -- ip -4 addr show dev eth0 2>/dev/null | grep_q 'inet 198\.51\.100\.2/24'; }
wait_for 60 "the guest's address from passt's DHCP" has_address
log "the guest got 198.51.100.2/24 from passt"
# The guest reaches the host through passt: its gateway address is the host's loopback.
reaches_host web 198.51.100.1 9099
log "the guest reached a server on the host through passt"

# The forwarded port: passt listens on host port $RANGE_PORT and opens the connection to the
# guest's port $GUEST_PORT (the guest sees it arrive from passt's gateway address).
qm exec web -- sh -c "(while :; do echo qmd-passt-ok | nc -l -p $GUEST_PORT; done) </dev/null >/dev/null 2>&1 &" >/dev/null ||
  fail "start a TCP server in the guest"
python3 -c "
import socket, time
s = socket.create_connection(('127.0.0.1', $RANGE_PORT), 5); s.settimeout(20)
try: print(s.recv(64).decode().strip())
except OSError as e: print('no answer:', e)" >"$T/forwarded" 2>&1 &
client=$!
EXTRA_PIDS+=($client)
arrived() { qm exec web -- netstat -tn 2>/dev/null | grep_q ":$GUEST_PORT *[^ ]*198\.51\.100\.1:"; }
wait_for 20 "a connection through host port $RANGE_PORT at the guest's port $GUEST_PORT" arrived
wait "$client" || true
log "a connection to host port $RANGE_PORT reached the guest's port $GUEST_PORT; the guest's server answered: $(cat "$T/forwarded")"

# A qmd killed and started again adopts web with its passt and its forwards.
passt_pid=$(passt_of web)
kill_qmd
start_qmd
wait_state web running 30
[[ "$(passt_of web)" == "$passt_pid" ]] || fail "web's passt $passt_pid is not the one running now: $(passt_of web)"
[[ "$(show_field web 'd["portForwards"][0]["hostPort"]')" == "$RANGE_PORT" ]] ||
  fail "the restarted qmd does not report web's forward: $(show_field web 'd["portForwards"]')"
log "a restarted qmd adopted web, its passt $passt_pid and host port $RANGE_PORT"

qm create -f "$(web_spec two)" >/dev/null || fail "create two"
if out=$(qm start two 2>&1); then fail "two started though no host port was free"; fi
for word in "VM two" "interface default" "port $GUEST_PORT" "network.ports.range $RANGE_PORT-$RANGE_PORT"; do
  grep_q -F "$word" <<<"$out" || fail "the error does not name $word: $out"
done
[[ "$(vm_state two)" == stopped ]] || fail "two is $(vm_state two) after a refused start"
[[ -z "$(passt_of two)" ]] || fail "a passt of two is left: $(passt_of two)"
log "two refused: $out"

qm stop web --grace 30 >/dev/null || fail "stop web"
gone() { [[ -z "$(passt_of web)" ]]; }
wait_for 10 "web's passt to end with its VM" gone
[[ "$(show_field web 'd["portForwards"]')" == "[]" ]] || fail "web still reports forwards while stopped"
qm start two >/dev/null || fail "two does not start once web gave its port back: $(qm show two)"
[[ "$(show_field two 'd["portForwards"][0]["hostPort"]')" == "$RANGE_PORT" ]] || fail "two does not get $RANGE_PORT"
qm kill two >/dev/null || fail "kill two"
wait_for 10 "two's passt to end with its VM" eval '[[ -z "$(passt_of two)" ]]'
qm delete two >/dev/null && qm delete web >/dev/null || fail "delete"

# pod.vmNetworkCIDR: passt gives the guest the CIDR's second address with its first as the
# gateway (-a -n -g) instead of the host's own, and the gateway still reaches the host.
cidr=$(spec cidr)
python3 - "$cidr" <<'PY'
import sys
p = sys.argv[1]
s = open(p).read()
s = s.replace("interfaces: []", "interfaces:\n          - {name: default, masquerade: {}}")
s = s.replace("networks: []", "networks:\n      - {name: default, pod: {vmNetworkCIDR: 10.77.6.0/24}}")
open(p, "w").write(s)
PY
chmod 0644 "$cidr"
qm create -f "$cidr" >/dev/null || fail "create cidr"
qm start cidr >/dev/null || fail "start cidr: $(qm show cidr 2>&1)"
pid=$(passt_of cidr | head -n1)
tr '\0' ' ' <"/proc/$pid/cmdline" | grep_q -- "-a 10.77.6.2 -n 24 -g 10.77.6.1 " ||
  fail "passt does not get the CIDR's addresses: $(tr '\0' ' ' <"/proc/$pid/cmdline")"
wait_agent cidr 120
in_cidr() { qm exec cidr -- ip -4 addr show dev eth0 2>/dev/null | grep_q 'inet 10\.77\.6\.2/24'; }
wait_for 60 "the guest's address 10.77.6.2/24 from passt's DHCP" in_cidr
qm exec cidr -- ip -4 route | grep_q '^default via 10\.77\.6\.1 ' ||
  fail "the guest's route is not via 10.77.6.1: $(qm exec cidr -- ip -4 route)"
reaches_host cidr 10.77.6.1 9098
log "passt gave the guest 10.77.6.2/24 via 10.77.6.1 (vmNetworkCIDR), and it reached the host"
qm kill cidr >/dev/null && wait_state cidr stopped 30
qm delete cidr >/dev/null || fail "delete cidr"
log "ok"
