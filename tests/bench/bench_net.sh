#!/usr/bin/env bash
# Guest <-> host TCP throughput through qmd's network bindings, in one run:
#   user   QEMU's user-mode networking (SLIRP)
#   tap    a tap on a bridge (vhost=on when /dev/vhost-net exists; multiqueue on)
# Each VM boots the test guest (2 vCPUs, networkInterfaceMultiqueue) and moves BENCH_MB MiB
# each way with busybox nc (the guest has no iperf3): guest -> host into a Python receiver on
# the host, host -> guest from a Python sender into `nc -l` in the guest; the figure is bytes
# over the time from connect to the receiver's close. iperf3 (Debian's) measures the host's own
# loopback alongside, as the ceiling of this machine. Everything happens in a network namespace
# the script makes (root only: taps, a bridge); the host's network is not touched. TCG unless
# BENCH_KVM=1: under TCG the figures measure emulation as much as networking.
# A benchmark prints figures and asserts nothing; meson never runs it.
#
#   tests/bench/bench_net.sh [BUILD_DIR]     (default: build)
#   BENCH_MB=N (default 32); BENCH_KVM=1 runs the guests with KVM.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
qmd=$build/daemon/qmd
qmctl=$build/daemon/qmctl
mb=${BENCH_MB:-32}
[[ -x "$qmd" && -x "$qmctl" ]] || { echo "bench_net: build $build first" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || { echo "bench_net: needs root (a network namespace, a bridge, taps)" >&2; exit 1; }
[[ "$mb" =~ ^[1-9][0-9]*$ ]] || { echo "bench_net: BENCH_MB must be a count" >&2; exit 2; }

source "$src/scripts/qmd_helpers.sh"
if [[ -z "${QMD_BENCH_NETNS:-}" ]]; then
  qmd_make_work qmd-bench-net
  qmd_install_guest  # may need Debian's archive: before leaving the host's network
  rm -rf "$work"
  exec env QMD_BENCH_NETNS=1 unshare --net -- bash "$0" "$build"
fi

qmd_make_work qmd-bench-net
trap qmd_cleanup EXIT
qmd_install_guest
ip link set lo up
ip link add qbr0 type bridge
ip addr add 10.99.0.1/24 dev qbr0
ip link set qbr0 up

# QEMU as root: /dev/net/tun is root's 0600 on many hosts (the bridge test does the same).
qmd_flags=(--config "$work/qmd.yaml" --state-dir "$work/state" --run-dir "$work/run"
  --storage-root "$storage" --qemu-user root)
[[ "${BENCH_KVM:-0}" == 1 ]] || qmd_flags+=(--emulation)
printf 'hyperv: strict\nbridges: {benchnet: qbr0}\n' >"$work/qmd.yaml"
"$qmd" "${qmd_flags[@]}" >"$work/qmd.log" 2>&1 &
qmd_pid=$!
qmd_wait_api 60 || { echo "bench_net: $qmd_error" >&2; cat "$work/qmd.log" >&2; exit 1; }

# vm_spec NAME BINDING: the test guest with one NIC of BINDING (user or bridge).
vm_spec() {
  local net="pod: {}"
  [[ "$2" != bridge ]] || net="multus: {networkName: benchnet}"
  qmd_guest_spec "$1" | sed -e "s/cpu: {cores: 1}/cpu: {cores: 2}/" \
    -e "s/interfaces: \[\]}/networkInterfaceMultiqueue: true, interfaces: [{name: n, $2: {}}]}/" \
    -e "s/networks: \[\]/networks: [{name: n, $net}]/"
}

wait_agent() {
  local i
  for ((i = 0; i < 1800; i++)); do
    q guest-ping "$1" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "bench_net: no guest agent in $1" >&2
  return 1
}

# The guest's address for eth0 and the host's address as the guest sees it.
guest_net() {
  case "$1" in
    user) echo "10.0.2.2" ;;
    bridge)
      q exec "$2" -- sh -c 'ip addr add 10.99.0.2/24 dev eth0; ip link set eth0 up' >/dev/null
      echo "10.99.0.1"
      ;;
  esac
}

# MiB/s guest -> host: the host receives on port 5201.
upload() {
  local vm=$1 host=$2 port=$3 result
  python3 - "$port" >"$work/up.$vm" <<'PY' &
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1]))); s.listen(1); s.settimeout(120)
c, _ = s.accept(); c.settimeout(120); t0 = time.monotonic(); n = 0
while True:
    b = c.recv(1 << 20)
    if not b: break
    n += len(b)
print(f"{n / (1 << 20) / (time.monotonic() - t0):.1f}")
PY
  local receiver=$!
  sleep 0.5
  # A fresh address may not answer at once: retry the connect (nc sends nothing until then).
  q exec "$vm" -- sh -c "for i in 1 2 3 4 5 6 7 8 9 10; do
      dd if=/dev/zero bs=65536 count=$((mb * 16)) 2>/dev/null | nc $host $port && break
      sleep 1
    done" >/dev/null 2>&1 || true
  wait "$receiver" || true
  result=$(cat "$work/up.$vm")
  echo "${result:-failed}"
}

# MiB/s host -> guest: nc listens in the guest on 5202, reached at `addr:port` from the host.
download() {
  local vm=$1 addr=$2 port=$3
  # nc's stdin never ends (it would half-close at once), so its exit at our EOF closes the
  # connection: the sender's clock stops once the guest has read everything.
  q exec "$vm" -- sh -c "(sleep 600 | nc -l -p 5202 >/dev/null) </dev/null >/dev/null 2>&1 &" >/dev/null
  python3 - "$addr" "$port" "$mb" <<'PY' || echo failed
import socket, sys, time
addr, port, mb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for _ in range(100):
    try:
        s = socket.create_connection((addr, port), 2); break
    except OSError:
        time.sleep(0.1)
s.settimeout(120); t0 = time.monotonic(); chunk = b"\0" * (1 << 20)
for _ in range(mb): s.sendall(chunk)
s.shutdown(socket.SHUT_WR)
while s.recv(65536): pass
print(f"{mb / (time.monotonic() - t0):.1f}")
PY
}

vhost="no /dev/vhost-net on this host: the tap runs without vhost"
[[ -c /dev/vhost-net ]] && vhost="/dev/vhost-net present: the tap has vhost=on"
echo "bench_net: $mb MiB each way, $([[ ${BENCH_KVM:-0} == 1 ]] && echo KVM || echo TCG), 2 vCPUs; $vhost"
if command -v iperf3 >/dev/null; then
  iperf3 -s -1 -p 5300 >/dev/null 2>&1 &
  sleep 0.5
  loop=$(iperf3 -c 127.0.0.1 -p 5300 -t 3 -J 2>/dev/null |
    python3 -c 'import json,sys; d=json.load(sys.stdin); print("%.1f" % (d["end"]["sum_received"]["bits_per_second"]/8/2**20))' || echo failed)
  echo "host loopback (iperf3, 3 s): $loop MiB/s"
else
  echo "host loopback: skipped (no iperf3; apt-get install iperf3)"
fi
printf '%-8s %-44s %14s %14s\n' binding netdev "guest->host" "host->guest"
for binding in user bridge; do
  vm=b$binding
  vm_spec "$vm" "$binding" >"$work/$vm.yaml"
  if [[ "$binding" == user ]]; then
    sed -i 's/{name: n, user: {}}/{name: n, user: {}, ports: [{port: 5202}]}/' "$work/$vm.yaml"
  fi
  q create -f "$work/$vm.yaml" >/dev/null
  if ! q start "$vm" >/dev/null 2>"$work/$vm.err" || ! wait_agent "$vm"; then
    printf '%-8s %s\n' "$binding" "did not start: $(head -c 300 "$work/$vm.err")"
    continue
  fi
  netdev=$(q argv "$vm" | grep -x -A1 -- -netdev | tail -n1 | cut -d, -f1)
  netdev+=$(q argv "$vm" | { grep -oE 'vhost=on|queues=[0-9]+|mq=on' || true; } | sed 's/^/ /' | tr -d '\n')
  host=$(guest_net "$binding" "$vm")
  reach=127.0.0.1
  port=$(q -o json show "$vm" | python3 -c 'import json,sys; f=json.load(sys.stdin)["portForwards"]; print(f[0]["hostPort"] if f else 5202)')
  [[ "$binding" != bridge ]] || reach=10.99.0.2
  up=$(upload "$vm" "$host" 5201)
  down=$(download "$vm" "$reach" "$port")
  printf '%-8s %-44s %9s MiB/s %9s MiB/s\n' "$binding" "$netdev" "$up" "$down"
  q kill "$vm" >/dev/null
done
# passt drops root (to nobody, who may not use this run dir): it runs only under a qmd whose
# QEMU user is not root, which the tap above needs here (/dev/net/tun is root's 0600).
echo "passt: not measured in this run (QEMU runs as root for the tap; passt refuses root)"
