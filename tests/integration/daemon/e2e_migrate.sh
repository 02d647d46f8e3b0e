#!/usr/bin/env bash
# Live migration between two qmd on this machine (separate state/run dirs and sockets), the
# test guest under TCG:
# - a running guest moves and keeps running: the agent answers on the destination, a marker
#   in guest RAM is still there, its uptime went on, the source QEMU is gone, the source's
#   record says where the VM went, and the VM comes back the same way;
# - refusals before anything changes: an unreachable destination, a destination with the
#   name, a VM with a hot-added disk;
# - failures mid-way (cancel, destination QEMU killed, destination qmd killed, source qmd
#   killed and restarted): the source keeps running and answers, the destination keeps
#   nothing.
source "$(dirname "$0")/lib.sh"
e2e_setup

source "$(dirname "$0")/migrate_lib.sh"
# B takes migrations from other hosts too: TCP on the loopback. Its API group has a member.
printf 'migration: {address: 127.0.0.1, ports: 49152-49215}\n' >"$T/b.yaml"
QMD_B_ARGS=(--config "$T/b.yaml")
if [[ $(id -u) -eq 0 ]]; then
  make_member
  QMD_B_ARGS+=(--group "$MEMBER_GROUP")
fi
start_qmd_b

vm=mig1
boot_vm


log "refused before anything changes: unreachable destination, a name taken, a hot-added disk"
expect_status 502 POST "/v1/vms/$vm/migrate" -H 'Content-Type: application/json' \
  -d "{\"destination\":\"$T/nobody.sock\"}"
grep_q "$T/nobody.sock" <<<"$BODY" || fail "the 502 does not name the socket: $BODY"
[[ "$(vm_state "$vm")" == running ]] || fail "the VM is $(vm_state "$vm") after a refused migration"
taken=$(spec "$vm" Manual firmware)
qm_b create -f "$taken" >/dev/null || fail "create the name on B"
expect_status 409 POST "/v1/vms/$vm/migrate" -H 'Content-Type: application/json' \
  -d "{\"destination\":\"$SOCK_B\"}"
grep_q "exists on this qmd" <<<"$BODY" || fail "the 409 does not say the name is taken: $BODY"
qm_b delete "$vm" >/dev/null || fail "delete the name on B"
install -m 0666 "$QMD_GUEST_DIR/disk.img" "$S/hot.img"
qm attach-disk "$vm" --name hot --path "$S/hot.img" >/dev/null || fail "attach-disk"
expect_status 409 POST "/v1/vms/$vm/migrate" -H 'Content-Type: application/json' \
  -d "{\"destination\":\"$SOCK_B\"}"
grep_q "hot (attached)" <<<"$BODY" || fail "the 409 does not name the hot-added disk: $BODY"
qm detach-disk "$vm" hot >/dev/null || fail "detach-disk"
# Detached is a change too until the next start: the run's devices differ from a fresh boot.
qm stop "$vm" >/dev/null || fail "stop"
qm start "$vm" >/dev/null || fail "start again"
wait_agent "$vm" 120
nothing_on_b || fail "a refused migration left something on B"

if [[ $(id -u) -eq 0 ]]; then
  log "the qmd-to-qmd routes: 403 for a member of B's API group, nothing made"
  as_member curl -sS --max-time 10 --unix-socket "$SOCK_B" http://qmd/v1/vms -o /dev/null \
    -w '%{http_code}' | grep_q '^200$' || fail "the member cannot use B's API at all"
  body=$(python3 -c 'import json,sys; print(json.dumps({"specText": open(sys.argv[1]).read()}))' "$file")
  for route in "POST /v1/migrations/incoming" "GET /v1/migrations/incoming/$vm" \
    "POST /v1/migrations/incoming/$vm/commit" "DELETE /v1/migrations/incoming/$vm"; do
    out=$(as_member curl -sS --max-time 10 --unix-socket "$SOCK_B" -X "${route%% *}" \
      -H 'Content-Type: application/json' -d "$body" -w ' HTTP %{http_code}' "http://qmd${route#* }")
    [[ "$out" == *"HTTP 403" ]] || fail "$route as a group member: $out"
    grep_q "for another qmd" <<<"$out" || fail "the 403 does not say why: $out"
  done
  nothing_on_b || fail "a member's incoming request left something on B"

  log "migrate --to a socket that is not a qmd: refused after the probe, nothing else sent"
  fake_listener "$T/fake.sock" "$T/fake.log"
  expect_status 502 POST "/v1/vms/$vm/migrate" -H 'Content-Type: application/json' \
    -d "{\"destination\":\"$T/fake.sock\"}"
  grep_q "does not answer as a qmd" <<<"$BODY" || fail "the refusal says: $BODY"
  [[ "$(grep -o '<<connection>>' "$T/fake.log" | wc -l)" == 1 ]] ||
    fail "the fake listener got more than the probe: $(cat -v "$T/fake.log")"
  grep_q "^<<connection>>GET /v1/host HTTP/1.1" "$T/fake.log" ||
    fail "what the fake listener got is not the probe: $(cat -v "$T/fake.log")"
  grep_q -i "migrations\|specText\|POST" "$T/fake.log" && fail "the fake listener got the VM"
  mkdir -m 0777 "$T/theirs"
  fake_listener "$T/theirs/fake.sock" "$T/theirs.log" "$MEMBER_USER"
  expect_status 502 POST "/v1/vms/$vm/migrate" -H 'Content-Type: application/json' \
    -d "{\"destination\":\"$T/theirs/fake.sock\"}"
  grep_q "not to root or this qmd's user" <<<"$BODY" || fail "a member's socket: $BODY"
  [[ ! -s "$T/theirs.log" ]] || fail "qmd connected to a member's socket: $(cat -v "$T/theirs.log")"
  [[ "$(vm_state "$vm")" == running ]] || fail "the VM is $(vm_state "$vm") after the refusals"
fi

log "a running guest moves to B (over TCP) and keeps running"
guest_exec "$SOCK_A" 'echo migrated-marker > /tmp/marker' >/dev/null || fail "write the marker"
before=$(uptime_s "$SOCK_A")
pid_a=$(vm_pid "$vm")
migrate "$SOCK_B" ',"transport":"tcp"'
wait_op 120 succeeded
log "operation: $BODY"
for key in bytesSent totalTimeMs downtimeMs; do
  [[ -n "$(json_get "d['progress'].get('$key')" <<<"$BODY")" ]] ||
    fail "the finished operation has no progress.$key: $BODY"
done
api GET "/v1/events?vm=$vm"
grep_q 'over tcp:127.0.0.1:' <<<"$BODY" || fail "the migration did not go over TCP: $BODY"
[[ "$(vm_state "$vm")" == migrated ]] || fail "A: $vm is $(vm_state "$vm"), expected migrated"
[[ "$(show_field "$vm" 'd["migratedTo"]')" == "$SOCK_B" ]] || fail "A's record does not say where"
wait_for 10 "the source QEMU to exit" bash -c "! kill -0 $pid_a 2>/dev/null"
[[ -z "$(procs_of_vm "$vm")" ]] || fail "A still runs a QEMU or swtpm for $vm"
[[ "$(on_b vm_state "$vm")" == running ]] || fail "B: $vm is $(on_b vm_state "$vm")"
on_b wait_agent "$vm" 60
[[ "$(guest_exec "$SOCK_B" 'cat /tmp/marker')" == migrated-marker ]] ||
  fail "the marker in guest RAM did not survive the migration"
after=$(uptime_s "$SOCK_B")
((after >= before)) || fail "the guest's uptime went from $before to $after: it rebooted"
expect_status 409 POST "/v1/vms/$vm/start"
grep_q "migrated to" <<<"$BODY" || fail "starting a migrated VM on A: $BODY"

log "A has no migration.address: a TCP migration to it is refused, naming the setting"
out=$(qm_b migrate "$vm" --to "$SOCK_A" --transport tcp 2>&1) && fail "TCP to A: $out"
grep_q "migration.address" <<<"$out" || fail "the refusal does not name migration.address: $out"
[[ "$(on_b vm_state "$vm")" == running ]] || fail "B: $vm is $(on_b vm_state "$vm") after a refusal"

log "and back to A with qmctl (A's record of the move is replaced)"
out=$(qm_b migrate "$vm" --to "$SOCK_A" 2>&1) || fail "qmctl migrate back: $out"
grep_q "migrated to $SOCK_A" <<<"$out" || fail "qmctl migrate said: $out"
wait_state "$vm" running 10
wait_agent "$vm" 60
[[ "$(guest_exec "$SOCK_A" 'cat /tmp/marker')" == migrated-marker ]] ||
  fail "the marker did not survive the way back"
[[ "$(on_b vm_state "$vm")" == migrated ]] || fail "B: $vm is $(on_b vm_state "$vm") after leaving"
qm_b delete "$vm" >/dev/null || fail "B: delete the record of the move"

log "cancel mid-way (1 MiB/s) with qmctl: A keeps running, B keeps nothing"
out=$(qm migrate "$vm" --to "$SOCK_B" --bandwidth 1Mi --no-wait) || fail "migrate --no-wait: $out"
OP=$(grep -o 'operation [^;]*' <<<"$out" | cut -d' ' -f2)
wait_sending 30
[[ "$(op_field 'd["status"]')" == running ]] || fail "the slow migration ended early: $BODY"
qm operations | grep_q "$OP .*running" || fail "qmctl operations does not show $OP running"
out=$(qm stop "$vm" 2>&1) && fail "stop during a migration: $out"
grep_q "migrate-cancel $vm" <<<"$out" || fail "stop during a migration says: $out"
on_b api POST "/v1/vms/$vm/start"
[[ "$STATUS" == 409 ]] || fail "B: starting the arriving VM: HTTP $STATUS $BODY"
out=$(qm migrate-cancel "$vm") || fail "qmctl migrate-cancel: $out"
grep_q "migration cancelled" <<<"$out" || fail "migrate-cancel said: $out"
wait_op 5 cancelled
[[ "$(json_get 'd["progress"]["bytesSent"]' <<<"$BODY")" -gt 0 ]] ||
  fail "the cancel came before anything was sent: $BODY"
wait_state "$vm" running 10
qm pause "$vm" >/dev/null && qm resume "$vm" >/dev/null || fail "A's VM is not controllable"
wait_for 20 "B to drop the VM" nothing_on_b

log "the destination QEMU killed mid-way"
migrate "$SOCK_B" ',"maxBandwidth":"1Mi"'
wait_for 20 "B's QEMU" test -n "$(procs_of_vm_b)"
wait_sending 30
kill -KILL $(procs_of_vm_b)
wait_op 30 failed
log "failed as expected: $(json_get 'd["error"]' <<<"$BODY")"
grep_q "QEMU" <<<"$BODY" || fail "the error does not say the stream broke: $BODY"
wait_state "$vm" running 10
guest_exec "$SOCK_A" 'cat /tmp/marker' >/dev/null || fail "A's guest does not answer"
wait_for 20 "B to drop the VM" nothing_on_b

log "the destination qmd killed mid-way"
migrate "$SOCK_B" ',"maxBandwidth":"1Mi"'
wait_sending 30
kill -KILL "$QMD_B_PID"
wait "$QMD_B_PID" 2>/dev/null || true  # gone, with its hold on its qemuUids
QMD_B_PID=
wait_op 30 failed
log "failed as expected: $(json_get 'd["error"]' <<<"$BODY")"
grep_q "stopped answering" <<<"$BODY" || fail "the error does not say B went away: $BODY"
wait_state "$vm" running 10
guest_exec "$SOCK_A" 'cat /tmp/marker' >/dev/null || fail "A's guest does not answer"
start_qmd_b
wait_for 30 "B to have nothing left after its restart" nothing_on_b

log "the source qmd killed mid-way: the next one cancels what it finds, the guest runs on"
migrate "$SOCK_B" ',"maxBandwidth":"1Mi"'
wait_sending 30
kill_qmd
start_qmd
wait_state "$vm" running 30
api GET "/v1/events?vm=$vm"
grep_q "MigrationCancelled.*earlier qmd" <<<"$BODY" || fail "no MigrationCancelled after adoption: $BODY"
guest_exec "$SOCK_A" 'cat /tmp/marker' >/dev/null || fail "A's guest does not answer"
qm pause "$vm" >/dev/null && qm resume "$vm" >/dev/null || fail "A's VM is not controllable"
wait_for 30 "B to drop the VM" nothing_on_b

log "multifd (2 channels) with auto-converge to B, and back"
out=$(qm migrate "$vm" --to "$SOCK_B" --multifd 2 --auto-converge 2>&1) || fail "multifd: $out"
on_b wait_agent "$vm" 60
[[ "$(guest_exec "$SOCK_B" 'cat /tmp/marker')" == migrated-marker ]] || fail "marker after multifd"
if [[ "$(cat /proc/sys/vm/unprivileged_userfaultfd 2>/dev/null)" != 1 && $(id -u) -eq 0 &&
  "$QEMU_USER" != root ]]; then
  # QEMU runs as nobody here, and the kernel gives it no userfaultfd: postcopy is refused
  # before anything changes, and the refusal says what the host needs.
  out=$(qm_b migrate "$vm" --to "$SOCK_A" --postcopy 2>&1) && fail "postcopy without userfaultfd: $out"
  grep_q "unprivileged_userfaultfd" <<<"$out" || fail "the postcopy refusal says: $out"
  [[ "$(on_b vm_state "$vm")" == running ]] || fail "B: $vm is $(on_b vm_state "$vm") after a refusal"
  out=$(qm_b migrate "$vm" --to "$SOCK_A" 2>&1) || fail "back to A: $out"
else
  out=$(qm_b migrate "$vm" --to "$SOCK_A" --postcopy 2>&1) || fail "postcopy back: $out"
fi
wait_agent "$vm" 60
[[ "$(guest_exec "$SOCK_A" 'cat /tmp/marker')" == migrated-marker ]] || fail "marker after the way back"
qm_b delete "$vm" >/dev/null || fail "B: delete the record of the move"

log "a paused VM arrives paused"
qm pause "$vm" >/dev/null || fail "pause on A"
out=$(qm migrate "$vm" --to "$SOCK_B" 2>&1) || fail "migrate the paused VM: $out"
[[ "$(on_b vm_state "$vm")" == paused ]] || fail "B: the paused VM is $(on_b vm_state "$vm")"
qm_b resume "$vm" >/dev/null || fail "resume on B"
on_b wait_agent "$vm" 60
[[ "$(guest_exec "$SOCK_B" 'cat /tmp/marker')" == migrated-marker ]] || fail "marker after paused"
out=$(qm_b migrate "$vm" --to "$SOCK_A" 2>&1) || fail "back to A: $out"
wait_state "$vm" running 10
qm_b delete "$vm" >/dev/null || fail "B: delete the record of the move"

log "an incoming migration that nothing reaches is dropped after arriveWithinSeconds"
body=$(python3 -c 'import json,sys; print(json.dumps({"specText": open(sys.argv[1]).read(),
  "arriveWithinSeconds": 2}))' "$file")
on_b expect_status 201 POST /v1/migrations/incoming -H 'Content-Type: application/json' -d "$body"
[[ "$(on_b vm_state "$vm")" == migrating ]] || fail "B: the arriving VM is $(on_b vm_state "$vm")"
wait_for 30 "B to drop the VM nothing reached" nothing_on_b
[[ ! -e "$T/b-state/vms/$vm" ]] || fail "B kept the definition of a migration that never came"

log "PASS"
