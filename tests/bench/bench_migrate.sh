#!/usr/bin/env bash
# Live migration of a busy guest. The VM boots the test guest with 1 vCPU and 512 MiB; once its
# agent answers, a busybox loop in the guest keeps rewriting a 256 MiB file in its RAM-backed
# root (16 MiB of random bytes copied over it again and again), BENCH_WARM s go by, then it
# migrates to a second QEMU on this machine over a unix socket. Printed side by side, in one
# run, as QEMU reports them (query-migrate): status, total time, downtime, setup time, passes
# (dirty-sync-count), bytes sent, the peak dirty rate QEMU saw, and the settings in force:
#   qmd:  two qmd (A, B), `POST /v1/vms/bench/migrate` with only a destination, i.e. qmd's
#         defaults (unlimited bandwidth, downtime limit 300 ms raised stepwise to 2 s when the
#         expected downtime stays above it, pause-before-switchover); timeoutSeconds is set to
#         BENCH_LIMIT so a run is bounded;
#   hand: the argv qmd renders (`qmctl argv bench -o json`) run twice by hand, the second with
#         `-incoming defer`, driven over QMP with QEMU's own defaults: migrate-incoming,
#         migrate, query-migrate until it ends; migrate_cancel after BENCH_LIMIT s.
# A run that does not finish within BENCH_LIMIT s prints "did not converge in N s". Every QEMU
# and both qmd are gone at the end. A benchmark prints figures and asserts nothing; meson
# builds no part of it and never runs it.
#
#   tests/bench/bench_migrate.sh [BUILD_DIR]   (default: build)
#   BENCH_LIMIT=S (default 120), BENCH_WARM=S (default 15); BENCH_KVM=1 uses KVM, not TCG.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
qmd=$build/daemon/qmd
qmctl=$build/daemon/qmctl
limit=${BENCH_LIMIT:-120}
warm=${BENCH_WARM:-15}
[[ -x "$qmd" && -x "$qmctl" ]] || { echo "bench_migrate: build $build first" >&2; exit 1; }
[[ "$limit" =~ ^[1-9][0-9]*$ && "$warm" =~ ^[0-9]+$ ]] ||
  { echo "bench_migrate: BENCH_LIMIT and BENCH_WARM are seconds" >&2; exit 2; }

source "$src/scripts/qmd_helpers.sh"

qmd_make_work qmd-bench-mig
b_pid=
cleanup() {
  if [[ -n "$b_pid" ]]; then
    kill -TERM "$b_pid" 2>/dev/null || true
    wait "$b_pid" 2>/dev/null || true
  fi
  qmd_cleanup  # also every QEMU whose command line names $work (the hand-run ones too)
}
trap cleanup EXIT

qmd_install_guest
accel=tcg
[[ "${BENCH_KVM:-0}" != 1 ]] || accel=kvm
qmd_set_flags "${BENCH_KVM:-0}"
qmd_start
qmd_wait_api 60 || { echo "bench_migrate: A: $qmd_error" >&2; cat "$work/qmd.log" >&2; exit 1; }
b_socket=$work/b-run/qmd.sock
b_flags=()
for f in "${qmd_flags[@]}"; do
  case "$f" in
    "$work/state") b_flags+=("$work/b-state") ;;
    "$work/run") b_flags+=("$work/b-run") ;;
    *) b_flags+=("$f") ;;
  esac
done
"$qmd" "${b_flags[@]}" >"$work/qmd-b.log" 2>&1 &
b_pid=$!
qb() { "$qmctl" -s "$b_socket" "$@"; }
for ((i = 0; i < 600; i++)); do
  qb host >/dev/null 2>&1 && break
  kill -0 "$b_pid" 2>/dev/null || { echo "bench_migrate: B exited" >&2; cat "$work/qmd-b.log" >&2; exit 1; }
  sleep 0.1
done

qmd_guest_spec bench | sed 's/guest: 256Mi/guest: 512Mi/' >"$work/bench.yaml"
grep -q 'guest: 512Mi' "$work/bench.yaml"
q create -f "$work/bench.yaml" >/dev/null
q argv bench -o json >"$work/argv.json"

# The guest's dirtier: started in the background, detached from the agent's exec.
dirty='cd /tmp && dd if=/dev/urandom of=r16 bs=1M count=16 2>/dev/null &&
  while :; do i=0; while [ $i -lt 16 ]; do
    dd if=r16 of=dirty bs=1M seek=$((i * 16)) conv=notrunc 2>/dev/null; i=$((i + 1)); done; done'
start_dirtier="setsid sh -c '$dirty' </dev/null >/dev/null 2>&1 &"

api() {  # api SOCKET METHOD PATH [BODY]: the response body
  curl -sS --max-time 60 --unix-socket "$1" -X "$2" ${4:+-H 'Content-Type: application/json' -d "$4"} \
    "http://qmd$3"
}
agent_up() {
  q -o json show bench 2>/dev/null | python3 -c 'import json, sys; sys.exit(0 if json.load(sys.stdin)["agent"]["connected"] else 1)'
}

# --- qmd: A -> B with qmd's defaults ---------------------------------------------------------
echo "bench_migrate: 1 vCPU, 512 MiB, accelerator $accel; the guest rewrites 256 MiB in a loop;" \
  "warm-up $warm s, bound $limit s" >&2
q start bench >/dev/null
for ((i = 0; i < 1800; i++)); do agent_up && break; sleep 0.1; done
agent_up || { echo "bench_migrate: qmd: the guest agent did not answer" >&2; exit 1; }
q exec bench -- /bin/sh -c "$start_dirtier" >/dev/null
sleep "$warm"
op=$(api "$socket" POST /v1/vms/bench/migrate \
  "{\"destination\":\"$b_socket\",\"timeoutSeconds\":$limit}" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
: >"$work/rates"
for ((i = 0; i < (limit + 60) * 4; i++)); do
  api "$socket" GET "/v1/operations/$op" >"$work/op.json"
  python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["progress"].get("dirtyPagesRate", 0))' \
    "$work/op.json" >>"$work/rates" 2>/dev/null || true
  python3 -c 'import json, sys; sys.exit(0 if json.load(open(sys.argv[1]))["status"] != "running" else 1)' \
    "$work/op.json" && break
  sleep 0.25
done
python3 - "$work/op.json" "$limit" "$work/rates" >"$work/qmd.result" <<'EOF'
import json, sys
op = json.load(open(sys.argv[1]))
rates = [int(x) for x in open(sys.argv[3]).read().split()] or [0]
p = op.get("progress", {})
status = op["status"]
if status == "running":
    status = "still running (qmd did not end it)"
elif status != "succeeded":
    status = ("did not converge in %s s" % sys.argv[2]) if "did not finish" in (op.get("error") or "") \
        else "failed: %s" % op.get("error")
else:
    status = "completed"
def g(k): return p.get(k, "-")
print("\t".join(str(x) for x in [status, g("totalTimeMs"), g("downtimeMs"), g("setupTimeMs"), g("passes"),
      "%.0f" % (p["bytesSent"] / 2**20) if "bytesSent" in p else "-",
      "%.0f" % (max(rates) * 4096 / 2**20) if max(rates) else "- (no 1 s sample)",
      "unlimited, 300 ms" + ("" if g("downtimeLimitMs") == 300 else " raised to %s ms" % g("downtimeLimitMs"))]))
EOF
echo "qmd:  $(cut -f1 "$work/qmd.result")" >&2
# Both sides drop their copy: nothing of it may run during the hand-run.
qb kill bench >/dev/null 2>&1 || true
q kill bench >/dev/null 2>&1 || true

# --- hand: the same argv twice, QEMU's defaults over QMP ------------------------------------
python3 - "$work/argv.json" "$work/run/vms/bench" "$work/hand" "$limit" "$warm" \
  "$start_dirtier" >"$work/hand.result" <<'EOF'
import json, os, signal, socket, subprocess, sys, time

spec = json.load(open(sys.argv[1]))
qmd_dir, hand, limit, warm, dirtier = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
procs = []


def log(*a):
    print("hand:", *a, file=sys.stderr, flush=True)


def spawn(name, extra):
    d = os.path.join(hand, name)
    os.makedirs(d, exist_ok=True)
    argv = [spec["binary"]] + [a.replace(qmd_dir, d) for a in spec["argv"]] + extra
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=open(os.path.join(d, "qemu.log"), "w"))
    procs.append(p)
    return d, p


class Qmp:
    def __init__(self, path, proc):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        for _ in range(2000):
            try:
                self.sock.connect(path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                if proc.poll() is not None:
                    raise SystemExit("QEMU exited at start")
                time.sleep(0.01)
        self.r = self.sock.makefile("rb")
        json.loads(self.r.readline())
        self("qmp_capabilities")

    def __call__(self, name, **args):
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        for line in self.r:
            reply = json.loads(line)
            if "return" in reply:
                return reply["return"]
            if "error" in reply:
                raise SystemExit(f"{name}: {reply['error']}")
        raise SystemExit(f"{name}: QMP closed")


def agent(path, until):
    """guest-sync until the agent answers; then the connected socket and its reader."""
    n = 1000
    while time.time() < until:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            s.settimeout(1)
            r = s.makefile("rb")
            while time.time() < until:
                n += 1
                s.sendall(json.dumps({"execute": "guest-sync", "arguments": {"id": n}}).encode() + b"\n")
                try:
                    t_end = time.time() + 1
                    while time.time() < t_end:
                        line = r.readline()
                        if line and json.loads(line).get("return") == n:
                            s.settimeout(10)
                            return s, r
                except (socket.timeout, ValueError):
                    pass
        except OSError:
            time.sleep(0.5)
        s.close()
    raise SystemExit("the guest agent did not answer")


try:
    src_dir, src = spawn("src", [])
    qs = Qmp(os.path.join(src_dir, "qmp.sock"), src)
    qs("cont")
    s, r = agent(os.path.join(src_dir, "qga.sock"), time.time() + 180)
    s.sendall(json.dumps({"execute": "guest-exec", "arguments": {
        "path": "/bin/sh", "arg": ["-c", dirtier], "capture-output": False}}).encode() + b"\n")
    r.readline()
    s.close()
    time.sleep(warm)
    dst_dir, dst = spawn("dst", ["-incoming", "defer"])
    qd = Qmp(os.path.join(dst_dir, "qmp.sock"), dst)
    uri = "unix:" + os.path.join(dst_dir, "migrate.sock")
    qd("migrate-incoming", uri=uri)
    params = qs("query-migrate-parameters")
    qs("migrate", uri=uri)
    began = time.time()
    info, status, rate = {}, "", 0
    while True:
        info = qs("query-migrate")
        status = info.get("status", "")
        rate = max(rate, info.get("ram", {}).get("dirty-pages-rate", 0))
        if status in ("completed", "failed", "cancelled"):
            break
        if time.time() - began > limit:
            qs("migrate_cancel")
            status = "did not converge in %d s" % limit
            break
        time.sleep(0.25)
    ram = info.get("ram", {})
    print("\t".join(str(x) for x in [
        status, info.get("total-time", "-"), info.get("downtime", "-"), info.get("setup-time", "-"),
        ram.get("dirty-sync-count", "-"),
        "%.0f" % (ram["transferred"] / 2**20) if "transferred" in ram else "-",
        "%.0f" % (rate * ram.get("page-size", 4096) / 2**20) if rate else "- (no 1 s sample)",
        "%.0f MiB/s, %d ms" % (params["max-bandwidth"] / 2**20, params["downtime-limit"])]))
finally:
    for p in procs:
        p.send_signal(signal.SIGKILL)
        p.wait()
EOF
echo "hand: $(cut -f1 "$work/hand.result")" >&2

python3 - "$work/qmd.result" "$work/hand.result" <<'EOF'
import sys
a = open(sys.argv[1]).read().rstrip("\n").split("\t")
b = open(sys.argv[2]).read().rstrip("\n").split("\t")
rows = ["result", "total time (ms)", "downtime (ms)", "setup time (ms)", "passes (dirty syncs)",
        "sent (MiB)", "guest dirty rate, peak (MiB/s)", "bandwidth, downtime limit"]
w = max(len(x) for x in a + b + ["qmd defaults"]) + 2
print()
print(f"{'':32}{'qmd defaults':<{w}}QEMU defaults, by hand over QMP")
for name, x, y in zip(rows, a, b):
    print(f"{name:32}{x:<{w}}{y}")
EOF
