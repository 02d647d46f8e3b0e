#!/usr/bin/env bash
# What qmd adds to starting a VM. Prints, side by side in one run, the median over N runs of
#   qmd:  `qmctl start` until it returns (render, spawn under seccomp as the QEMU user, QMP,
#         `cont` returned, state Running), and
#   hand: the same binary + argv (`qmctl argv NAME -o json`) spawned directly: spawn, connect
#         QMP, qmp_capabilities, `cont` returned,
# and their ratio; then where qmd's time went (the step marks qmd logs at debug level, median
# per step); then the same for P VMs started at once (P `qmctl start` in parallel against P
# QEMUs launched together by hand), wall time until the last one has returned.
# The VMs boot the test guest (1 vCPU, 256 MiB), so the argv is a real one; the timing ends
# at `cont`, before the guest runs. Every QEMU is killed after each run; runs alternate (qmd,
# hand, qmd, ...) after one warm-up of each, so drift hits both alike.
# A benchmark prints figures and asserts nothing; meson builds no part of it and never runs it.
#
#   tests/bench/bench_start.sh [BUILD_DIR]     (default: build)
#   BENCH_RUNS=N (default 5); BENCH_PARALLEL=P VMs at once (default 10, 0: none);
#   BENCH_KVM=1 starts QEMU with KVM instead of TCG emulation.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
qmd=$build/daemon/qmd
qmctl=$build/daemon/qmctl
runs=${BENCH_RUNS:-5}
parallel=${BENCH_PARALLEL:-10}
[[ -x "$qmd" && -x "$qmctl" ]] || { echo "bench_start: build $build first" >&2; exit 1; }
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || { echo "bench_start: BENCH_RUNS must be a count" >&2; exit 2; }
[[ "$parallel" =~ ^[0-9]+$ ]] || { echo "bench_start: BENCH_PARALLEL must be a count" >&2; exit 2; }

source "$src/scripts/qmd_helpers.sh"

qmd_make_work qmd-bench
cleanup() {
  if [[ -n "$qmd_pid" ]]; then
    for name in "${names[@]:-}"; do
      [[ -z "$name" ]] || q kill "$name" >/dev/null 2>&1 || true
    done
  fi
  qmd_cleanup
}
names=()
trap cleanup EXIT

qmd_install_guest
accel=tcg
[[ "${BENCH_KVM:-0}" != 1 ]] || accel=kvm
qmd_set_flags "${BENCH_KVM:-0}"
qmd_flags+=(--log-level debug)  # the step marks of each start
qmd_start
qmd_wait_api 60 || { echo "bench_start: $qmd_error" >&2; cat "$work/qmd.log" >&2; exit 1; }

names=(bench)
for ((i = 1; i <= parallel; i++)); do
  names+=("bench-$i")
done
for name in "${names[@]}"; do
  qmd_guest_spec "$name" >"$work/$name.yaml"
  q create -f "$work/$name.yaml" >/dev/null
  q argv "$name" -o json >"$work/$name.argv.json"
done

# One qmd run of VMs $@ started together: the wall time until the last `qmctl start`
# returned, then kill them (not timed). For one VM also the time qmd itself took, from its
# own events (starting -> running, millisecond stamps).
qmd_run() {
  local t0 t1 name
  local -a pids=()
  t0=$EPOCHREALTIME
  for name in "$@"; do
    q start "$name" >/dev/null &
    pids+=($!)
  done
  for name in "${pids[@]}"; do
    wait "$name"
  done
  t1=$EPOCHREALTIME
  for name in "$@"; do
    q kill "$name" >/dev/null
  done
  q events "$1" -o json | python3 -c '
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

# One hand run of VMs $@ launched together: QEMU's own argv with qmd's run directory swapped
# for a fresh one; one thread connects to each QMP socket as soon as it is there and drives
# every monitor (greeting, qmp_capabilities, cont); the wall time until the last `cont`
# returned.
hand_run() {
  local name
  local -a triples=()
  for name in "$@"; do
    triples+=("$work/$name.argv.json" "$work/run/vms/$name" "$work/hand/$name")
  done
  python3 - "${triples[@]}" <<'EOF'
import json, os, selectors, signal, socket, subprocess, sys, time


class Vm:
    def __init__(self, argv_json, qmd_dir, hand_dir):
        spec = json.load(open(argv_json))
        os.makedirs(hand_dir, exist_ok=True)
        for leftover in os.listdir(hand_dir):
            os.unlink(os.path.join(hand_dir, leftover))
        self.argv = [spec["binary"]] + [a.replace(qmd_dir, hand_dir) for a in spec["argv"]]
        self.qmp = next(a.split("path=")[1].split(",")[0] for a in self.argv
                        if a.startswith("socket,id=charmonitor"))
        self.log = os.path.join(hand_dir, "qemu.log")
        self.sock, self.buffer, self.sent = None, b"", []

    def spawn(self):
        # A session of its own, as qmd gives each QEMU: with the kernel's autogroup
        # scheduling each session gets its own share of the CPUs.
        self.qemu = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=open(self.log, "w"),
                                     start_new_session=True)

    def try_connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(self.qmp)
        except (FileNotFoundError, ConnectionRefusedError):
            sock.close()
            if self.qemu.poll() is not None:
                raise SystemExit("QEMU exited: " + open(self.log).read())
            return False
        self.sock = sock
        return True

    def send(self, name):
        self.sent.append(name)
        self.sock.sendall(json.dumps({"execute": name}).encode() + b"\n")

    def readable(self):
        """Reads what QEMU sent; True once `cont` has returned."""
        data = self.sock.recv(65536)
        if not data:
            raise SystemExit(f"QEMU closed QMP after {self.sent}")
        self.buffer += data
        while b"\n" in self.buffer:
            line, self.buffer = self.buffer.split(b"\n", 1)
            reply = json.loads(line)
            if "QMP" in reply:
                self.send("qmp_capabilities")
            elif "error" in reply:
                raise SystemExit(f"{self.sent[-1]}: {reply['error']}")
            elif "return" in reply and self.sent[-1] == "qmp_capabilities":
                self.send("cont")
            elif "return" in reply:
                return True  # events (no "return") may come before a reply
        return False


args = sys.argv[1:]
vms = [Vm(*args[i:i + 3]) for i in range(0, len(args), 3)]
selector = selectors.DefaultSelector()
t0 = time.perf_counter()
try:
    for vm in vms:
        vm.spawn()
    waiting, running = list(vms), 0
    while running < len(vms):
        for vm in [vm for vm in waiting if vm.try_connect()]:
            waiting.remove(vm)
            selector.register(vm.sock, selectors.EVENT_READ, vm)
        # QEMU makes its socket while it starts: look again 0.5 ms later while some are missing
        for key, _ in selector.select(0.0005 if waiting else None):
            if key.data.readable():
                selector.unregister(key.fileobj)
                running += 1
    print(f"{(time.perf_counter() - t0) * 1000:.1f}")
finally:
    for vm in vms:
        if hasattr(vm, "qemu"):
            vm.qemu.send_signal(signal.SIGKILL)
            vm.qemu.wait()
EOF
}

median() {
  sort -n | awk '{ v[NR] = $1 }
    END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# The median of each step mark qmd logged for the VMs whose names match $1 ("VM bench start:
# STEP at +N ms"), in the order qmd logs them.
step_medians() {
  python3 - "$1" "$work/qmd.log" <<'EOF'
import re, statistics, sys
vm, marks = re.compile(sys.argv[1]), {}
pattern = re.compile(r"VM (\S+) start: (.*) at \+([0-9.]+) ms")
for line in open(sys.argv[2], errors="replace"):
    found = pattern.search(line)
    if found and vm.fullmatch(found.group(1)):
        marks.setdefault(found.group(2), []).append(float(found.group(3)))
for step, times in marks.items():
    print(f"  {step:<46} {statistics.median(times):8.1f} ms")
EOF
}

# Runs $runs alternating rounds of qmd_run/hand_run on VMs $@; prints each round and the
# medians; leaves the qmd median in m_qmd and the hand median in m_hand.
compare() {
  local a inside b i
  qmd_run "$@" >/dev/null
  hand_run "$@" >/dev/null
  : >"$work/qmd.ms"
  : >"$work/inside.ms"
  : >"$work/hand.ms"
  for ((i = 1; i <= runs; i++)); do
    read -r a inside < <(qmd_run "$@")
    b=$(hand_run "$@")
    echo "$a" >>"$work/qmd.ms"
    echo "$inside" >>"$work/inside.ms"
    echo "$b" >>"$work/hand.ms"
    printf 'run %d: qmctl start %7.1f ms (inside qmd %4d ms)   by hand %7.1f ms\n' \
      "$i" "$a" "$inside" "$b"
  done
  m_qmd=$(median <"$work/qmd.ms")
  m_inside=$(median <"$work/inside.ms")
  m_hand=$(median <"$work/hand.ms")
}

echo "bench_start: $runs runs each after one warm-up, accelerator $accel;" \
  "QEMU runs as ${qemu_user:-$(id -un)} under qmd (seccomp), as $(id -un) by hand"
compare bench
printf '\nmedian of %d runs, spawn to QMP cont returned   %10s\n' "$runs" "ms"
printf '%-48s %10.1f\n' "qmd:  qmctl start, until it returns" "$m_qmd"
printf '%-48s %10.0f\n' "      of which inside qmd (its events)" "$m_inside"
printf '%-48s %10.1f\n' "hand: the same argv, a python3 QMP client" "$m_hand"
awk -v a="$m_qmd" -v b="$m_hand" 'BEGIN { printf "%-48s %10.2fx\n", "ratio qmd / hand", a / b }'
echo "inside qmd, median time since the start began (its debug log):"
step_medians bench

if ((parallel > 0)); then
  printf '\n%d VMs started at once, wall time until the last has returned\n' "$parallel"
  compare "${names[@]:1}"
  printf '\nmedian of %d runs, %d VMs at once                %10s\n' "$runs" "$parallel" "ms"
  printf '%-48s %10.1f\n' "qmd:  $parallel x qmctl start, until all return" "$m_qmd"
  printf '%-48s %10.1f\n' "hand: the same argvs, a python3 QMP client" "$m_hand"
  awk -v a="$m_qmd" -v b="$m_hand" \
    'BEGIN { printf "%-48s %10.2fx\n", "ratio qmd / hand", a / b }'
  echo "inside qmd, median over the $parallel VMs of the time since each start began:"
  step_medians 'bench-[0-9]+'
fi
