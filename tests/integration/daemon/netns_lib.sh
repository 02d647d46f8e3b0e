# Network namespaces for the managed-network e2e tests (sourced after lib.sh; root only): qmd
# runs inside NSQ, whose only link is a veth to NSU, a namespace standing in for the uplink
# (192.0.2.2: an HTTP server with /token, and a DNS server that knows uplink.test). Nothing
# of it touches the host's own network; the EXIT hooks remove it all.
NSQ=qmdq$$
NSU=qmdu$$
VQ=vq$$
VU=vu$$
UPLINK=192.0.2.2
inq() { ip netns exec "$NSQ" "$@"; }
inu() { ip netns exec "$NSU" "$@"; }

# qmd's dnsmasqs run in their own session (they outlive qmd): end each by its pid file's pid,
# when that pid is still a dnsmasq of one of this test's run dirs (every qmd's NAT network's
# and bridge networks').
kill_test_dnsmasq() {
  local file pid
  while IFS= read -r file; do
    pid=$(cat "$file" 2>/dev/null) || continue
    [[ "$({ tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null)" == *"$T/"*"/network/"* ]] &&
      kill -KILL "$pid" 2>/dev/null
  done < <(find "$T" -path '*/network/*' -name dnsmasq.pid 2>/dev/null)
  return 0
}

make_namespaces() {
  ip netns add "$NSQ" || { echo "skipped: cannot make a network namespace"; exit 77; }
  ip netns add "$NSU"
  # A root qmd's lock of each bridge it makes is a file per namespace and bridge (its lock
  # ends with qmd; the empty file goes with the namespace).
  BRIDGE_LOCKS=/run/qmd-bridges/net$(stat -L -c %i "/run/netns/$NSQ")
  EXIT_HOOKS+=("kill_test_dnsmasq" "ip netns del $NSQ" "ip netns del $NSU"
    "rm -rf /etc/netns/$NSQ" "rm -f $BRIDGE_LOCKS-*.lock")
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
