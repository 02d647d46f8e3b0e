#!/usr/bin/env bash
# What qmd adds to starting a VM. Prints, side by side in one run, the median over N runs of
#   qmd:  `qmctl start` until it returns (render, spawn under seccomp as the QEMU user, QMP,
#         `cont` returned, state Running), and
#   hand: the same binary + argv (`qmctl argv NAME -o json`) spawned directly: spawn, connect
#         QMP, qmp_capabilities, `cont` returned,
# and their ratio. The VM boots the test guest (1 vCPU, 256 MiB), so the argv is a real one;
# the timing ends at `cont`, before the guest runs. Every QEMU is killed after each run; runs
# alternate (qmd, hand, qmd, ...) after one warm-up of each, so drift hits both alike.
# A benchmark prints figures and asserts nothing; meson builds no part of it and never runs it.
#
#   tests/bench/bench_start.sh [BUILD_DIR]     (default: build)
#   BENCH_RUNS=N (default 5); BENCH_KVM=1 starts QEMU with KVM instead of TCG emulation.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
qmd=$build/daemon/qmd
qmctl=$build/daemon/qmctl
runs=${BENCH_RUNS:-5}
[[ -x "$qmd" && -x "$qmctl" ]] || { echo "bench_start: build $build first" >&2; exit 1; }
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || { echo "bench_start: BENCH_RUNS must be a count" >&2; exit 2; }

source "$src/scripts/qmd_helpers.sh"

qmd_make_work qmd-bench
cleanup() {
  if [[ -n "$qmd_pid" ]]; then
    q kill bench >/dev/null 2>&1 || true
  fi
  qmd_cleanup
}
trap cleanup EXIT

qmd_install_guest
accel=tcg
[[ "${BENCH_KVM:-0}" != 1 ]] || accel=kvm
qmd_set_flags "${BENCH_KVM:-0}"
qmd_start
qmd_wait_api 60 || { echo "bench_start: $qmd_error" >&2; cat "$work/qmd.log" >&2; exit 1; }

qmd_guest_spec bench >"$work/bench.yaml"
q create -f "$work/bench.yaml" >/dev/null
q argv bench -o json >"$work/argv.json"

# One qmd run: the wall time of `qmctl start`, then kill the VM (not timed). Also prints the
# time qmd itself took, from its own events (starting -> running, millisecond stamps).
qmd_run() {
  local t0 t1
  t0=$EPOCHREALTIME
  q start bench >/dev/null
  t1=$EPOCHREALTIME
  q kill bench >/dev/null
  q events bench -o json | python3 -c '
import datetime, json, sys
t0, t1 = float(sys.argv[1]), float(sys.argv[2])
stamp = {}
for line in sys.stdin:
    if line.strip():
        e = json.loads(line)
        if e.get("type") == "StateChanged" and e.get("state") in ("starting", "running"):
            stamp[e["state"]] = datetime.datetime.fromisoformat(e["time"].replace("Z", "+00:00"))
inside = (stamp["running"] - stamp["starting"]).total_seconds() * 1000
print(f"{(t1 - t0) * 1000:.1f} {inside:.0f}")' "$t0" "$t1"
}

# One hand run: QEMU's own argv with qmd's run directory swapped for a fresh one.
hand_run() {
  python3 - "$work/argv.json" "$work/run/vms/bench" "$work/hand" <<'EOF'
import json, os, signal, socket, subprocess, sys, time

spec = json.load(open(sys.argv[1]))
qmd_dir, hand_dir = sys.argv[2], sys.argv[3]
os.makedirs(hand_dir, exist_ok=True)
argv = [spec["binary"]] + [a.replace(qmd_dir, hand_dir) for a in spec["argv"]]
qmp_path = next(a.split("path=")[1].split(",")[0] for a in argv
                if a.startswith("socket,id=charmonitor"))
for leftover in os.listdir(hand_dir):
    os.unlink(os.path.join(hand_dir, leftover))


def command(reader, sock, name):
    sock.sendall(json.dumps({"execute": name}).encode() + b"\n")
    for line in reader:  # events may come before the reply
        reply = json.loads(line)
        if "return" in reply:
            return
        if "error" in reply:
            raise SystemExit(f"{name}: {reply['error']}")
    raise SystemExit(f"{name}: QMP closed")


t0 = time.perf_counter()
qemu = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                        stderr=open(os.path.join(hand_dir, "qemu.log"), "w"))
try:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    while True:  # QEMU makes the socket while it starts; connect as soon as it is there
        try:
            sock.connect(qmp_path)
            break
        except (FileNotFoundError, ConnectionRefusedError):
            if qemu.poll() is not None:
                raise SystemExit("QEMU exited: " + open(os.path.join(hand_dir, "qemu.log")).read())
            time.sleep(0.0005)
    reader = sock.makefile("rb")
    json.loads(reader.readline())  # the greeting
    command(reader, sock, "qmp_capabilities")
    command(reader, sock, "cont")
    t1 = time.perf_counter()
    print(f"{(t1 - t0) * 1000:.1f}")
finally:
    qemu.send_signal(signal.SIGKILL)
    qemu.wait()
EOF
}

median() {
  sort -n | awk '{ v[NR] = $1 }
    END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

echo "bench_start: $runs runs each after one warm-up, accelerator $accel;" \
  "QEMU runs as ${qemu_user:-$(id -un)} under qmd (seccomp), as $(id -un) by hand"
qmd_run >/dev/null
hand_run >/dev/null
: >"$work/qmd.ms"
: >"$work/inside.ms"
: >"$work/hand.ms"
for ((i = 1; i <= runs; i++)); do
  read -r a inside < <(qmd_run)
  b=$(hand_run)
  echo "$a" >>"$work/qmd.ms"
  echo "$inside" >>"$work/inside.ms"
  echo "$b" >>"$work/hand.ms"
  printf 'run %d: qmctl start %7.1f ms (inside qmd %4d ms)   by hand %7.1f ms\n' \
    "$i" "$a" "$inside" "$b"
done
m_qmd=$(median <"$work/qmd.ms")
m_inside=$(median <"$work/inside.ms")
m_hand=$(median <"$work/hand.ms")
printf '\nmedian of %d runs, spawn to QMP cont returned   %10s\n' "$runs" "ms"
printf '%-48s %10.1f\n' "qmd:  qmctl start, until it returns" "$m_qmd"
printf '%-48s %10.0f\n' "      of which inside qmd (its events)" "$m_inside"
printf '%-48s %10.1f\n' "hand: the same argv, a python3 QMP client" "$m_hand"
awk -v a="$m_qmd" -v b="$m_hand" 'BEGIN { printf "%-48s %10.2fx\n", "ratio qmd / hand", a / b }'
