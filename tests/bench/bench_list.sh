#!/usr/bin/env bash
# How fast qmd lists many VMs. Defines BENCH_VMS VMs (default 1000; a 2-vCPU Linux VM with a
# disk, a NIC, an RNG and hot-plug headroom each, none running), then prints the p50/p90/p99
# and max of BENCH_ROUNDS (default 300) `GET /v1/vms` on one keep-alive connection, next to
# `GET /v1/vms/NAME` for one VM, with the CPU time qmd spent per request (from /proc: steadier
# than wall time on a busy host); then again after a restart with them all defined.
# A benchmark prints figures and asserts nothing; meson builds no part of it and never runs it.
#
#   tests/bench/bench_list.sh [BUILD_DIR]     (default: build)
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
qmd=$build/daemon/qmd
qmctl=$build/daemon/qmctl
vms=${BENCH_VMS:-1000}
rounds=${BENCH_ROUNDS:-300}
[[ -x "$qmd" && -x "$qmctl" ]] || { echo "bench_list: build $build first" >&2; exit 1; }
[[ "$vms" =~ ^[1-9][0-9]*$ ]] || { echo "bench_list: BENCH_VMS must be a count" >&2; exit 2; }
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "bench_list: BENCH_ROUNDS must be a count" >&2; exit 2; }

source "$src/scripts/qmd_helpers.sh"
qmd_make_work qmd-bench-list
trap qmd_cleanup EXIT
mkdir -p "$storage"
qmd_set_flags 0
qmd_start
qmd_wait_api 60 || { echo "bench_list: $qmd_error" >&2; cat "$work/qmd.log" >&2; exit 1; }

# The client: HTTP/1.1 over the Unix socket, one connection, wall time per request.
cat >"$work/client.py" <<'EOF'
import http.client, json, os, socket, sys, time

class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("qmd", timeout=120)
        self.path = path
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)

def call(conn, method, path, body=None):
    t0 = time.perf_counter()
    conn.request(method, path, body=body)
    reply = conn.getresponse()
    data = reply.read()
    t1 = time.perf_counter()
    if reply.status >= 300:
        sys.exit(f"bench_list: {method} {path}: HTTP {reply.status}: {data[:300]!r}")
    return (t1 - t0) * 1000, data

SPEC = """apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata: {{name: {name}}}
spec:
  runStrategy: {strategy}
  template:
    spec:
      domain:
        cpu: {{sockets: 2, cores: 1, threads: 1, maxSockets: 3}}
        memory: {{guest: 1Gi, maxGuest: 2Gi}}
        devices:
          rng: {{}}
          autoattachGraphicsDevice: false
          disks:
          - name: root
            bootOrder: 1
            disk: {{bus: virtio}}
          interfaces:
          - name: default
            masquerade: {{}}
      networks:
      - name: default
        pod: {{}}
      volumes:
      - name: root
        hostDisk: {{path: {storage}/{name}.img, type: DiskOrCreate, capacity: 8Gi}}
"""

def percentile(sorted_ms, p):
    return sorted_ms[min(len(sorted_ms) - 1, int(round(p / 100 * (len(sorted_ms) - 1))))]

# qmd's CPU time so far (user + system), ms: less noisy than wall time on a busy host.
def cpu_ms(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")

def timed(conn, rounds, count, pid):
    _, data = call(conn, "GET", "/v1/vms")
    listed = json.loads(data)["vms"]
    if len(listed) != count:
        sys.exit(f"bench_list: GET /v1/vms lists {len(listed)} VMs, not {count}")
    for label, path in (("GET /v1/vms", "/v1/vms"), ("GET /v1/vms/vm0001", "/v1/vms/vm0001")):
        cpu0 = cpu_ms(pid)
        times = sorted(call(conn, "GET", path)[0] for _ in range(rounds))
        cpu = (cpu_ms(pid) - cpu0) / rounds
        print(f"  {label:<20} p50 {percentile(times, 50):6.2f} ms  p90 {percentile(times, 90):6.2f}"
              f" ms  p99 {percentile(times, 99):6.2f} ms  max {times[-1]:6.2f} ms; qmd CPU"
              f" {cpu:.2f} ms each ({rounds} rounds)")
    print(f"  (the list is {len(data)} bytes)")

def main():
    mode, sock, storage = sys.argv[1], sys.argv[2], sys.argv[3]
    count, rounds, pid = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
    conn = UnixConnection(sock)
    if mode == "define":
        t0 = time.perf_counter()
        for i in range(count):
            name = f"vm{i:04d}"
            strategy = "Halted" if i % 2 else "Manual"
            call(conn, "POST", "/v1/vms", SPEC.format(name=name, strategy=strategy, storage=storage))
        print(f"defined {count} VMs in {time.perf_counter() - t0:.1f} s")
    timed(conn, rounds, count, pid)

main()
EOF
echo "bench_list: $vms VMs defined, none running"
python3 "$work/client.py" define "$socket" "$storage" "$vms" "$rounds" "$qmd_pid"

# qmd started again with every VM defined: the store is read and each spec parsed once.
qmd_stop || true
t0=$EPOCHREALTIME
qmd_start
qmd_wait_api 120 || { echo "bench_list: $qmd_error" >&2; exit 1; }
t1=$EPOCHREALTIME
python3 -c 'import sys; print(f"qmd started again with {sys.argv[3]} VMs: API ready after '\
'{(float(sys.argv[2]) - float(sys.argv[1])) * 1000:.0f} ms (polled every 100 ms)")' \
  "$t0" "$t1" "$vms"
python3 "$work/client.py" list "$socket" "$storage" "$vms" "$rounds" "$qmd_pid"
