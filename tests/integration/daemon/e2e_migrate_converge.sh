#!/usr/bin/env bash
# The stepwise downtime raise of a live migration that does not converge (vm_migrate.cpp,
# follow_migration): every 3 passes (dirty-sync-count) in which QEMU's expected downtime stays
# above the limit, qmd doubles `downtime-limit` up to maxDowntimeMs, publishes
# MigrationDowntimeRaised and shows the limit as progress.downtimeLimitMs.
#
# The guest keeps rewriting a 2 MiB file of random bytes in its RAM-backed /tmp (the "dirtier"
# of tests/bench/bench_migrate.sh, smaller), faster than the capped bandwidth moves it, so
# every pass has about 2 MiB left and a switchover needs roughly 2 MiB / bandwidth of downtime.
# The bandwidth is a quarter of the rate at which this machine's guest rewrites the file
# (measured first, bounded to 4-16 MiB/s), so a slow TCG host keeps the margin.
# - maxDowntimeMs too short for that, and a short timeout: the operation fails saying it did
#   not finish, after raising the limit to exactly maxDowntimeMs; A runs on, its guest answers
#   with its RAM marker, B keeps nothing;
# - a small initial limit and a maxDowntimeMs well above what is needed: the limit doubles
#   (events with increasing limits, each min(2x, max); the progress never above max) until the
#   migration completes; the guest runs on B with its RAM marker, and its dirtier goes on.
# Nothing here asserts how fast anything is.
source "$(dirname "$0")/lib.sh"
e2e_setup

source "$(dirname "$0")/migrate_lib.sh"
start_qmd_b

vm=conv1
boot_vm

# The dirtier: 2 MiB of random bytes (zero pages would cost QEMU nothing to send) copied over
# /tmp/dirty again and again, 64 KiB at a time; /tmp/count is the number of copies made.
guest_exec "$SOCK_A" 'echo converge-marker > /tmp/marker' >/dev/null || fail "write the marker"
guest_exec "$SOCK_A" 'setsid sh -c '\''cd /tmp && dd if=/dev/urandom of=src bs=64k count=32 2>/dev/null &&
  n=0; while :; do dd if=src of=dirty bs=64k conv=notrunc 2>/dev/null; n=$((n+1));
  echo $n > count; done'\'' </dev/null >/dev/null 2>&1 &' >/dev/null || fail "start the dirtier"
copies() { guest_exec "$1" 'cat /tmp/count 2>/dev/null || echo 0'; }
wait_for 60 "the dirtier to copy" bash -c "[[ \$(\"$QMCTL_BIN\" -s '$SOCK_A' exec $vm -- cat /tmp/count 2>/dev/null) -gt 3 ]]"

# How fast the guest rewrites memory here (copies of 2 MiB over a few seconds): the bandwidth
# is a quarter of it, bounded to 4..16 MiB/s (below 4 the first pass, ~100 MiB, takes too long).
# A slower host gets a lower cap, not a failure.
c0=$(copies "$SOCK_A")
t0=$(now_ms)
sleep 4
c1=$(copies "$SOCK_A")
t1=$(now_ms)
rate_kib=$(( (c1 - c0) * 2048 * 1000 / (t1 - t0) ))
((rate_kib > 0)) || fail "the dirtier made no copy in 4 s ($c0, $c1)"
bw_kib=$((rate_kib / 4))
((bw_kib > 16384)) && bw_kib=16384
((bw_kib < 4096)) && bw_kib=4096
bw=$((bw_kib * 1024))
# A switchover then needs about 2 MiB / bandwidth of downtime.
need_ms=$((2048 * 1000 / bw_kib))
log "the guest rewrites $rate_kib KiB/s: bandwidth $bw_kib KiB/s, a switchover needs ~$need_ms ms"

# follow_op SECONDS SAMPLES: polls the operation every 0.25 s until it ends (failing after
# SECONDS); each sample's progress.downtimeLimitMs goes into SAMPLES, one a line; BODY is then
# the finished operation.
follow_op() {
  python3 - "$SOCK_A" "$OP" "$1" "$2" <<'EOF' || fail "operation $OP did not end within $1 s"
import http.client, json, socket, sys, time
sock, op, limit, samples = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]

class Unix(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(30)
        self.sock.connect(sock)

until = time.time() + limit
with open(samples, "w") as out:
    while time.time() < until:
        c = Unix("qmd")
        c.request("GET", "/v1/operations/" + op)
        d = json.loads(c.getresponse().read())
        c.close()
        v = d.get("progress", {}).get("downtimeLimitMs")
        if v is not None:
            out.write("%d\n" % v)
            out.flush()
        if d["status"] != "running":
            sys.exit(0)
        time.sleep(0.25)
sys.exit(1)
EOF
  api GET "/v1/operations/$OP"
}

# raises: the MigrationDowntimeRaised events of operation $OP (those after its
# MigrationStarted), one "PASS EXPECTED LIMIT" a line, from the NDJSON history.
raises() {
  curl -sS --max-time 10 --unix-socket "$SOCK_A" "http://qmd/v1/events?vm=$vm" |
    python3 -c '
import json, re, sys
op, mine = sys.argv[1], False
for line in sys.stdin:
    if not line.strip():
        continue
    e = json.loads(line)
    if e["type"] == "MigrationStarted":
        mine = ("(operation %s)" % op) in e["message"]
    elif mine and e["type"] == "MigrationDowntimeRaised":
        m = re.fullmatch(r"pass (\d+): expected downtime (\d+) ms; the limit is now (\d+) ms",
                         e["message"])
        if not m:
            sys.exit("unexpected MigrationDowntimeRaised message: " + e["message"])
        print(*m.groups())
' "$OP"
}

# check_raises INITIAL MAX RAISES SAMPLES: the raises double from INITIAL, capped at MAX, each
# after a pass at least 3 past the last one, each with an expected downtime above the limit it
# replaced; the sampled progress only ever holds INITIAL or a raised limit, never decreasing,
# never above MAX, and ends at the last raise. Prints the sequence "a -> b -> ...".
check_raises() {
  python3 - "$@" <<'EOF' || fail "the downtime raises are wrong (operation $OP): $BODY"
import sys
initial, top = int(sys.argv[1]), int(sys.argv[2])
raises = [tuple(map(int, l.split())) for l in open(sys.argv[3]) if l.strip()]
samples = [int(l) for l in open(sys.argv[4]) if l.strip()]
limit, last_pass, seq = initial, 0, [initial]
for p, expected, new in raises:
    ok = (new == min(2 * limit, top) and new > limit and new <= top and p >= last_pass + 3 and
          expected > limit)
    if not ok:
        sys.exit("raise at pass %d (expected %d ms) to %d ms after %d ms at pass %d" %
                 (p, expected, new, limit, last_pass))
    limit, last_pass = new, p
    seq.append(new)
if not samples:
    sys.exit("no progress.downtimeLimitMs was ever seen")
for a, b in zip(samples, samples[1:]):
    if b < a:
        sys.exit("progress.downtimeLimitMs went down: %d -> %d" % (a, b))
bad = [s for s in samples if s not in seq or s > top]
if bad:
    sys.exit("progress.downtimeLimitMs held %s, not one of %s" % (bad, seq))
if samples[-1] != limit:
    sys.exit("the operation ends at %d ms, the last raise was to %d ms" % (samples[-1], limit))
print(" -> ".join(map(str, seq)))
EOF
}

# The first pass sends the guest's whole RAM (about 100 MiB of it are not zero) at the capped
# bandwidth: the short timeout leaves room for that and for the passes the raises need.
short_timeout=$((40 + 100 * 1024 / bw_kib))
log "maxDowntimeMs too short (a quarter of the need), a $short_timeout s timeout: fails, A goes on"
max_short=$((need_ms / 4))
((max_short >= 8)) || max_short=8
init_short=$((max_short / 4))
pid_a=$(vm_pid "$vm")
migrate "$SOCK_B" ",\"maxBandwidth\":$bw,\"downtimeLimitMs\":$init_short,\"maxDowntimeMs\":$max_short,\"timeoutSeconds\":$short_timeout"
follow_op $((short_timeout + 60)) "$T/samples-short"
log "operation: $BODY"
[[ "$(json_get 'd["status"]' <<<"$BODY")" == failed ]] || fail "expected a failed operation: $BODY"
grep_q "did not finish within $short_timeout s" <<<"$BODY" ||
  fail "the error does not say the migration did not finish: $BODY"
[[ "$(json_get 'd["progress"]["bytesSent"]' <<<"$BODY")" -gt 0 ]] || fail "nothing was sent: $BODY"
raises >"$T/raises-short" || fail "reading the events"
seq=$(check_raises "$init_short" "$max_short" "$T/raises-short" "$T/samples-short")
log "raised: $seq ms; (pass, expected downtime ms, new limit ms): $(paste -sd, "$T/raises-short")"
[[ "$(tail -n1 "$T/samples-short")" == "$max_short" ]] ||
  fail "the limit did not reach maxDowntimeMs $max_short before the timeout: $seq"
api GET "/v1/events?vm=$vm"
grep_q '"type":"MigrationFailed"' <<<"$BODY" || fail "no MigrationFailed event: $BODY"
wait_state "$vm" running 10
[[ "$(vm_pid "$vm")" == "$pid_a" ]] || fail "A's QEMU changed: $pid_a, now $(vm_pid "$vm")"
[[ "$(guest_exec "$SOCK_A" 'cat /tmp/marker')" == converge-marker ]] || fail "A's guest lost its marker"
c0=$(copies "$SOCK_A")
wait_for 30 "the dirtier to go on on A" bash -c "[[ \$(\"$QMCTL_BIN\" -s '$SOCK_A' exec $vm -- cat /tmp/count) -gt $c0 ]]"
wait_for 30 "B to drop the VM" nothing_on_b
[[ ! -e "$T/b-state/vms/$vm" ]] || fail "B kept the definition of the failed migration"

log "a small initial limit, maxDowntimeMs well above the need: raised until it converges"
init=$((need_ms / 8))
((init >= 4)) || init=4
max=$((need_ms * 8))
migrate "$SOCK_B" ",\"maxBandwidth\":$bw,\"downtimeLimitMs\":$init,\"maxDowntimeMs\":$max,\"timeoutSeconds\":240"
follow_op 300 "$T/samples"
log "operation: $BODY"
[[ "$(json_get 'd["status"]' <<<"$BODY")" == succeeded ]] || fail "expected success: $BODY"
raises >"$T/raises" || fail "reading the events"
seq=$(check_raises "$init" "$max" "$T/raises" "$T/samples")
log "raised: $seq ms; (pass, expected downtime ms, new limit ms): $(paste -sd, "$T/raises")"
[[ -s "$T/raises" ]] || fail "it converged without a raise (the dirtier did not keep up?): $BODY"
final=$(json_get 'd["progress"]["downtimeLimitMs"]' <<<"$BODY")
((final > init && final <= max)) || fail "progress.downtimeLimitMs $final is not in ($init, $max]"
((final < max)) || fail "it needed the whole maxDowntimeMs $max: $seq"
passes=$(json_get 'd["progress"]["passes"]' <<<"$BODY")
((passes >= 4)) || fail "completed after $passes passes: no raise can have been needed"
[[ "$(vm_state "$vm")" == migrated ]] || fail "A: $vm is $(vm_state "$vm"), expected migrated"
wait_for 10 "the source QEMU to exit" bash -c "! kill -0 $pid_a 2>/dev/null"
[[ "$(on_b vm_state "$vm")" == running ]] || fail "B: $vm is $(on_b vm_state "$vm")"
on_b wait_agent "$vm" 60
[[ "$(guest_exec "$SOCK_B" 'cat /tmp/marker')" == converge-marker ]] ||
  fail "the marker in guest RAM did not survive the migration"
c0=$(copies "$SOCK_B")
wait_for 30 "the dirtier to go on on B" bash -c "[[ \$(\"$QMCTL_BIN\" -s '$SOCK_B' exec $vm -- cat /tmp/count) -gt $c0 ]]"

log "PASS"
