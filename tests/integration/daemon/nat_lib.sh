# Shared by the NAT network's end-to-end tests (sourced after lib.sh): qmd's network
# namespace (NSQ) whose only link is a veth to a namespace standing in for the uplink (NSU,
# an HTTP server and a DNS server that knows uplink.test), and guests on the NAT network.
NSQ=qmdq$$
NSU=qmdu$$
VQ=vq$$
VU=vu$$
GW=10.91.0.1
UPLINK=192.0.2.2
inq() { ip netns exec "$NSQ" "$@"; }
inu() { ip netns exec "$NSU" "$@"; }

# qmd's dnsmasq runs in its own session (it outlives qmd): end it by its pid file's pid, when
# that pid is still the dnsmasq of this test's run dir.
kill_test_dnsmasq() {
  local pid
  pid=$(cat "$T/run/network/dnsmasq.pid" 2>/dev/null) || return 0
  [[ "$({ tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null)" == *"$T/run/network/"* ]] &&
    kill -KILL "$pid" 2>/dev/null
  return 0
}

make_namespaces() {
  ip netns add "$NSQ" || { echo "skipped: cannot make a network namespace"; exit 77; }
  ip netns add "$NSU"
  EXIT_HOOKS+=("kill_test_dnsmasq" "ip netns del $NSQ" "ip netns del $NSU"
    "rm -rf /etc/netns/$NSQ")
  ip link add "$VQ" type veth peer name "$VU"
  ip link set "$VQ" netns "$NSQ"
  ip link set "$VU" netns "$NSU"
  inq ip link set lo up
  inu ip link set lo up
  inq ip addr add 192.0.2.1/24 dev "$VQ"
  inu ip addr add "$UPLINK/24" dev "$VU"
  inq ip link set "$VQ" up
  inu ip link set "$VU" up
  # qmd's namespace resolves through the uplink (ip netns exec mounts this as resolv.conf).
  mkdir -p "/etc/netns/$NSQ"
  echo "nameserver $UPLINK" >"/etc/netns/$NSQ/resolv.conf"
}

start_uplink() {
  mkdir -p "$T/www"
  echo "uplink-token-$$" >"$T/www/token"
  # Not through inu: `ip` execs the server, so $! is the server itself.
  ip netns exec "$NSU" python3 -m http.server --bind "$UPLINK" 8080 --directory "$T/www" \
    >"$T/http.log" 2>&1 &
  EXTRA_PIDS+=($!)
  ip netns exec "$NSU" dnsmasq --keep-in-foreground --no-resolv --no-hosts --bind-interfaces \
    --listen-address="$UPLINK" --local=/test/ --host-record="uplink.test,$UPLINK" \
    --pid-file="$T/uplink-dns.pid" --log-facility="$T/uplink-dns.log" &
  EXTRA_PIDS+=($!)
  uplink_up() { inu curl -sf --max-time 2 "http://$UPLINK:8080/token" >/dev/null; }
  wait_for 20 "the uplink's HTTP server" uplink_up
}

# A guest with one masquerade interface on the pod network, a fixed MAC and optional ports
# (nat_vm NAME MAC ["{port: 8000}, ..."]).
nat_vm() {
  local name=$1 mac=$2 ports=${3:-} file
  file=$(spec "$name")
  sed -i "s/^          interfaces: \[\]$/          interfaces: [{name: default, masquerade: {}, macAddress: \"$mac\", ports: [$ports]}]/" "$file"
  sed -i 's/^      networks: \[\]$/      networks: [{name: default, pod: {}}]/' "$file"
  qm create -f "$file" >/dev/null || fail "create $name"
}

nat_ip() { show_field "$1" 'd["natInterfaces"][0]["ipAddress"]'; }
guest_ip_is() {
  qm exec "$1" -- ip -4 -o addr show dev eth0 2>/dev/null | grep_q " inet $2/24 "
}
dnsmasq_pid() { qm -o json network | json_get 'd["dnsmasqPid"]'; }
counter() {  # packets of counter NAME in NSQ's probe table
  inq nft list counter ip qmdprobe "$1" | sed -n 's/.*packets \([0-9]*\).*/\1/p'
}
counter_above() { (($(counter "$1") > $2)); }

