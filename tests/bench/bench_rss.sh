#!/usr/bin/env bash
# qmd's own memory (VmRSS of the qmd process, not its QEMUs) idle, with BENCH_VMS VMs defined
# (default 200) and with all of them running: each a small VM started paused (startStrategy:
# Paused, so QEMU runs no guest code and the host stays usable), started BENCH_PARALLEL
# (default 10) at a time through the API, then listed, so that every VM's QMP connection,
# agent watch and supervisor are live. Prints figures and asserts nothing; meson never runs it.
#
#   tests/bench/bench_rss.sh [BUILD_DIR]     (default: build)
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
qmd=$build/daemon/qmd
qmctl=$build/daemon/qmctl
vms=${BENCH_VMS:-200}
parallel=${BENCH_PARALLEL:-10}
[[ -x "$qmd" && -x "$qmctl" ]] || { echo "bench_rss: build $build first" >&2; exit 1; }
[[ "$vms" =~ ^[1-9][0-9]*$ ]] || { echo "bench_rss: BENCH_VMS must be a count" >&2; exit 2; }
[[ "$parallel" =~ ^[1-9][0-9]*$ ]] || { echo "bench_rss: BENCH_PARALLEL must be a count" >&2; exit 2; }

source "$src/scripts/qmd_helpers.sh"
qmd_make_work qmd-bench-rss
trap qmd_cleanup EXIT
mkdir -p "$storage"
qmd_set_flags 0
qmd_start
qmd_wait_api 60 || { echo "bench_rss: $qmd_error" >&2; cat "$work/qmd.log" >&2; exit 1; }

# VmRSS, then its parts: RssAnon is qmd's own heap and stacks; RssFile is the pages of
# qmd's binary and shared libraries it has touched (shared with every other process mapping
# them, and it grows once as code paths first run, not per VM).
rss() {
  awk '/^(VmRSS|RssAnon|RssFile):/ { v[$1] = $2 / 1024 }
       END { printf "%.1f MiB (anon %.1f, file %.1f)", v["VmRSS:"], v["RssAnon:"], v["RssFile:"] }' \
    "/proc/$qmd_pid/status"
}
echo "bench_rss: qmd idle, no VMs: $(rss)"

cat >"$work/client.py" <<'EOF'
import concurrent.futures, http.client, socket, sys, time

class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("qmd", timeout=300)
        self.path = path
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)

def call(sock, method, path, body=None):
    conn = UnixConnection(sock)
    conn.request(method, path, body=body)
    reply = conn.getresponse()
    data = reply.read()
    conn.close()
    if reply.status >= 300:
        sys.exit(f"bench_rss: {method} {path}: HTTP {reply.status}: {data[:300]!r}")
    return data

SPEC = """apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata: {{name: {name}}}
spec:
  runStrategy: Manual
  template:
    spec:
      startStrategy: Paused
      domain:
        cpu: {{cores: 1}}
        memory: {{guest: 64Mi}}
        devices:
          autoattachGraphicsDevice: false
          interfaces: []
      networks: []
"""

def main():
    mode, sock, count, parallel = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    names = [f"vm{i:04d}" for i in range(count)]
    if mode == "define":
        for name in names:
            call(sock, "POST", "/v1/vms", SPEC.format(name=name))
        return
    t0 = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(parallel) as pool:
        list(pool.map(lambda name: call(sock, "POST", f"/v1/vms/{name}/start"), names))
    print(f"bench_rss: {count} VMs started ({parallel} at a time) in {time.perf_counter() - t0:.1f} s")
    for _ in range(20):
        call(sock, "GET", "/v1/vms")

main()
EOF
python3 "$work/client.py" define "$socket" "$vms" "$parallel"
echo "bench_rss: $vms VMs defined, none running: $(rss)"
python3 "$work/client.py" start "$socket" "$vms" "$parallel"
running=$(q -o json list | python3 -c 'import json, sys
print(sum(1 for v in json.load(sys.stdin)["vms"] if v["pid"]))')
echo "bench_rss: $running VMs running (paused), listed 20 times: $(rss)"
