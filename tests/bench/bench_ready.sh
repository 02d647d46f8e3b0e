#!/usr/bin/env bash
# qmd start to API ready, cold (no probe cache: the host is probed, ~40 QEMU runs) and warm
# (the cache of the previous start). Prints the median, min and max of BENCH_RUNS (default 5)
# starts each: the time from spawning qmd until GET /v1/host answers (polled every ms), and
# where the caps came from (/v1/host probe.startedFrom). No VMs are defined.
# A benchmark prints figures and asserts nothing; meson builds no part of it and never runs it.
#
#   tests/bench/bench_ready.sh [BUILD_DIR]     (default: build)
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
qmd=$build/daemon/qmd
qmctl=$build/daemon/qmctl
runs=${BENCH_RUNS:-5}
[[ -x "$qmd" ]] || { echo "bench_ready: build $build first" >&2; exit 1; }
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || { echo "bench_ready: BENCH_RUNS must be a count" >&2; exit 2; }

source "$src/scripts/qmd_helpers.sh"
qmd_make_work qmd-bench-ready
trap qmd_cleanup EXIT
mkdir -p "$storage"
qmd_set_flags 0
echo "hyperv: strict" >"$work/qmd.yaml"

python3 - "$runs" "$work" "$socket" "$qmd" "${qmd_flags[@]}" <<'EOF'
import http.client, json, os, signal, socket, statistics, subprocess, sys, time

runs, work, sock, argv = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
cache = os.path.join(work, "state", "host-probe.json")

def host():
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(5)
    s.connect(sock)
    conn = http.client.HTTPConnection("qmd")
    conn.sock = s
    conn.request("GET", "/v1/host")
    reply = conn.getresponse()
    body = reply.read()
    s.close()
    return reply.status, body

def one_start():
    log = open(os.path.join(work, "qmd.log"), "ab")
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=log, stderr=log)
    while True:
        if proc.poll() is not None:
            sys.exit(f"bench_ready: qmd exited ({proc.returncode}); see {work}/qmd.log")
        try:
            status, body = host()
            if status == 200:
                break
        except OSError:
            pass
        if time.perf_counter() - t0 > 60:
            sys.exit("bench_ready: qmd's API did not answer within 60 s")
        time.sleep(0.001)
    ms = (time.perf_counter() - t0) * 1000
    origin = json.loads(body)["probe"]["startedFrom"]
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    return ms, origin

for label, keep in (("cold (no cache)", False), ("warm (cache)", True)):
    times, origins = [], set()
    if keep:
        one_start()  # writes the cache
    for _ in range(runs):
        if not keep and os.path.exists(cache):
            os.unlink(cache)
        ms, origin = one_start()
        times.append(ms)
        origins.add(origin)
    print(f"qmd start to API ready, {label:<16} median {statistics.median(times):7.1f} ms  "
          f"min {min(times):7.1f}  max {max(times):7.1f}  ({runs} starts; caps from "
          f"{', '.join(sorted(origins))})")
EOF
