#!/usr/bin/env bash
# Postcopy live migration between two qmd on this machine. QEMU runs as root here: Debian's
# vm.unprivileged_userfaultfd=0 gives an unprivileged QEMU no userfaultfd (e2e_migrate.sh
# checks that refusal).
# - A guest that dirties memory faster than the cap switches to postcopy; B takes the guest
#   at the switch (it runs there while its memory follows), then every page arrives: the RAM
#   marker and the dirtier's file are whole, the uptime went on.
# - Past the switch there is no cancel (409, saying why), and the migration still ends well.
# - B's QEMU killed in postcopy: A's copy is stale, so A stays paused, refuses to resume and
#   says why, also after a qmd restart (the record keeps splitMemory), and refuses another
#   migration; when that QEMU ended while qmd was down, the next qmd clears the mark and does
#   not start the VM, saying why.
source "$(dirname "$0")/lib.sh"
if [[ $(id -u) -ne 0 ]]; then
  echo "SKIP: postcopy needs userfaultfd: QEMU as root"
  exit 77
fi
QEMU_USER=root
e2e_setup

source "$(dirname "$0")/migrate_lib.sh"
start_qmd_b

vm=pc1
boot_vm

# The dirtier rewrites 32 MiB of random bytes in tmpfs (guest RAM) over and over; a copy
# that nothing touches shows whether every page arrived.
dirty='cd /tmp && dd if=/dev/urandom of=r16 bs=1M count=16 2>/dev/null &&
  cat r16 r16 > keep && sha256sum keep > keep.sum &&
  while :; do i=0; while [ $i -lt 2 ]; do
    dd if=r16 of=dirty bs=1M seek=$((i * 16)) conv=notrunc 2>/dev/null; i=$((i + 1)); done; done'
start_dirtier() {
  guest_exec "$1" "setsid sh -c '$dirty' </dev/null >/dev/null 2>&1 &" >/dev/null ||
    fail "start the dirtier"
  wait_for 60 "the dirtier's file" guest_exec "$1" 'test -s /tmp/keep.sum && test -s /tmp/dirty'
}
op_in_postcopy() {
  local phase
  phase=$(op_field 'd["phase"]')
  [[ "$phase" == postcopy ]] && return 0
  [[ "$(op_field 'd["status"]')" == running ]] || fail "operation $OP ended before postcopy: $BODY"
  return 1
}
events_of() { SOCK=$1 api GET "/v1/events?vm=$vm"; echo "$BODY"; }

log "A → B: the dirtier outruns 16 MiB/s, qmd switches to postcopy, B runs the guest early"
guest_exec "$SOCK_A" 'echo postcopy-marker > /tmp/marker' >/dev/null || fail "write the marker"
start_dirtier "$SOCK_A"
before=$(uptime_s "$SOCK_A")
migrate "$SOCK_B" ',"postcopy":true,"maxBandwidth":"16Mi"'
wait_op 300 succeeded
log "operation: $BODY"
events_a=$(events_of "$SOCK_A")
grep_q MigrationPostcopyRequested <<<"$events_a" || fail "A did not ask for postcopy: $events_a"
grep_q '"type":"MigrationPostcopy"' <<<"$events_a" || fail "A did not hand over at the switch"
events_b=$(events_of "$SOCK_B")
# B took the guest while pages still came, and later had them all.
python3 - "$events_b" <<'EOF' || fail "B's events: $events_b"
import json, sys
types = [json.loads(line)["type"] for line in sys.argv[1].splitlines() if line.strip()]
assert "MigrationPostcopy" in types and "MigrationCompleted" in types, types
assert types.index("MigrationPostcopy") < types.index("MigrationCompleted"), types
EOF
[[ "$(vm_state "$vm")" == migrated ]] || fail "A: $vm is $(vm_state "$vm"), expected migrated"
[[ -z "$(procs_of_vm "$vm")" ]] || fail "A still runs a QEMU for $vm"
[[ "$(on_b vm_state "$vm")" == running ]] || fail "B: $vm is $(on_b vm_state "$vm")"
on_b wait_agent "$vm" 60
[[ "$(guest_exec "$SOCK_B" 'cat /tmp/marker')" == postcopy-marker ]] ||
  fail "the marker in guest RAM did not survive postcopy"
guest_exec "$SOCK_B" 'cd /tmp && sha256sum -c keep.sum' >/dev/null ||
  fail "the 32 MiB file in guest RAM is not whole after postcopy"
after=$(uptime_s "$SOCK_B")
((after >= before)) || fail "the guest's uptime went from $before to $after: it rebooted"

log "B → A with a slow postcopy: no cancel past the switch, and it still ends well"
on_b migrate "$SOCK_A" ',"postcopy":true,"maxBandwidth":"16Mi","postcopyBandwidth":"2Mi"'
wait_for 240 "operation $OP to reach postcopy" op_in_postcopy
SOCK=$SOCK_B expect_status 409 DELETE "/v1/operations/$OP"
grep_q "cannot come back" <<<"$BODY" || fail "the cancel refusal says: $BODY"
out=$(qm_b migrate-cancel "$vm" 2>&1) && fail "qmctl migrate-cancel in postcopy: $out"
grep_q "postcopy" <<<"$out" || fail "qmctl migrate-cancel in postcopy said: $out"
# The destination's QEMU reports the incoming postcopy too: a restarted A must not take the
# guest it runs for a stale source copy.
log "A (the destination) restarted in postcopy (B's operation: $(op_field 'd["phase"]'))"
kill_qmd
start_qmd
split=$(show_field "$vm" 'd.get("splitMemory", "")') || fail "qmctl show $vm on A"
[[ -z "$split" ]] || fail "A marked the guest it runs as split: $split"
wait_op 300 succeeded
wait_state "$vm" running 30
qm pause "$vm" >/dev/null && qm resume "$vm" >/dev/null || fail "A's VM is not controllable"

wait_agent "$vm" 60
guest_exec "$SOCK_A" 'cd /tmp && sha256sum -c keep.sum' >/dev/null ||
  fail "the file in guest RAM is not whole after the slow postcopy"
qm_b delete "$vm" >/dev/null || fail "B: delete the record of the move"

log "A → B, B's QEMU killed in postcopy: A stays paused and refuses to resume its stale copy"
migrate "$SOCK_B" ',"postcopy":true,"maxBandwidth":"16Mi","postcopyBandwidth":"1Mi"'
wait_for 240 "operation $OP to reach postcopy" op_in_postcopy
pid_b=$(on_b vm_pid "$vm")
[[ -n "$pid_b" ]] || fail "B has no QEMU pid for $vm"
kill -KILL "$pid_b"
wait_op 120 failed
log "failed as expected: $(json_get 'd["error"]' <<<"$BODY")"
grep_q "split" <<<"$BODY" || fail "the failure does not say the memory is split: $BODY"
[[ "$(vm_state "$vm")" == paused ]] || fail "A: $vm is $(vm_state "$vm"), expected paused"
expect_status 409 POST "/v1/vms/$vm/resume"
grep_q "stale\|postcopy" <<<"$BODY" || fail "the resume refusal says: $BODY"
[[ "$(vm_state "$vm")" == paused ]] || fail "A: $vm is $(vm_state "$vm") after the refused resume"
log "the refusal outlives a qmd restart, and the split VM cannot migrate again"
kill_qmd
start_qmd
wait_state "$vm" paused 30
expect_status 409 POST "/v1/vms/$vm/resume"
grep_q "postcopy" <<<"$BODY" || fail "after a qmd restart the resume refusal says: $BODY"
split=$(show_field "$vm" 'd.get("splitMemory", "")') || fail "qmctl show $vm on A"
[[ -n "$split" ]] || fail "A's record lost splitMemory"
expect_status 409 POST "/v1/vms/$vm/migrate" -d "{\"destination\":\"$SOCK_B\"}"
grep_q "qmctl kill" <<<"$BODY" || fail "migrating the split VM again says: $BODY"
log "A's qmd down and its stale QEMU killed meanwhile: the next qmd clears the mark, starts nothing"
pid_a=$(vm_pid "$vm")
[[ -n "$pid_a" ]] || fail "A has no QEMU pid for $vm"
kill_qmd
kill -KILL "$pid_a"
pid_gone() { ! kill -0 "$1" 2>/dev/null; }
wait_for 30 "A's stale QEMU to end" pid_gone "$pid_a"
start_qmd
wait_state "$vm" stopped 30
last=$(show_field "$vm" 'd["lastError"]') || fail "qmctl show $vm on A"
grep_q "not started by itself" <<<"$last" || fail "A's lastError after the restart: $last"
[[ -z "$(show_field "$vm" 'd.get("splitMemory", "")')" ]] || fail "splitMemory outlived the QEMU"
[[ -z "$(procs_of_vm "$vm")" ]] || fail "A runs a QEMU for $vm again"
log "ok"
