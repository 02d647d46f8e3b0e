#!/usr/bin/env bash
# copyStorage: a VM whose disk is a local file migrates to another qmd with the disk copied
# over NBD to another path (--map-path) while the guest keeps writing to it; afterwards the
# destination's copy holds every write (the guest's own view of the disk equals the image file
# on the destination once it is stopped). A cancelled attempt removes the image the
# destination made and leaves the source as it was.
source "$(dirname "$0")/lib.sh"
e2e_setup

source "$(dirname "$0")/migrate_lib.sh"
start_qmd_b

vm=mst1
boot_vm "$S/a-data.img" 64M

# The writer: a counter into block (i mod 2048) of vda, fsync'ed, forever; /tmp/last is the
# last one written.
guest_exec "$SOCK" 'setsid sh -c '\''echo $$ > /tmp/writer.pid; i=0; while :; do i=$((i+1));
  printf "%08d\n" $i | dd of=/dev/vda bs=512 seek=$((i % 2048)) conv=notrunc,fsync 2>/dev/null;
  echo $i > /tmp/last; done'\'' </dev/null >/dev/null 2>&1 &' || fail "start the writer"
wait_for 20 "the writer to write" bash -c "[[ \$(\"$QMCTL_BIN\" -s '$SOCK' exec $vm -- cat /tmp/last 2>/dev/null) -gt 10 ]]"
a_md5_before=$(md5sum <"$S/a-data.img")

log "a cancelled copyStorage migration: B's image is removed, A goes on"
out=$(qm migrate "$vm" --to "$SOCK_B" --copy-storage --map-path "$S/a-data.img=$S/b-data.img" \
  --bandwidth 1Mi --no-wait) || fail "migrate --no-wait: $out"
wait_for 20 "B to make the image" test -e "$S/b-data.img"
sleep 2
out=$(qm migrate-cancel "$vm") || fail "migrate-cancel: $out"
grep_q "migration cancelled" <<<"$out" || fail "migrate-cancel said: $out"
wait_state "$vm" running 10
wait_for 20 "B to drop the VM and its image" bash -c "[[ ! -e '$S/b-data.img' ]] &&
  ! curl -sf --unix-socket '$SOCK_B' http://qmd/v1/vms/$vm -o /dev/null"
[[ "$(md5sum <"$S/a-data.img")" != "$a_md5_before" ]] || fail "the writer stopped on A"

log "copyStorage to B at 20 MiB/s while the guest writes"
first=$(guest_exec "$SOCK" 'cat /tmp/last')
out=$(qm migrate "$vm" --to "$SOCK_B" --copy-storage --map-path "$S/a-data.img=$S/b-data.img" \
  --bandwidth 20Mi 2>&1) || fail "qmctl migrate --copy-storage: $out"
log "$out"
grep_q -E "in [1-9][0-9]* ms \(downtime .* ms, guest paused [1-9][0-9]* ms" <<<"$out" || {
  api GET /v1/operations
  fail "no migration figures: $out; $BODY"
}
[[ "$(vm_state "$vm")" == migrated ]] || fail "A: $vm is $(vm_state "$vm")"
SOCK=$SOCK_B wait_agent "$vm" 60
qm_b -o json show "$vm" | grep_q "$S/b-data.img" || fail "B's definition does not use b-data.img"
last=$(guest_exec "$SOCK_B" 'kill $(cat /tmp/writer.pid); sleep 1; sync; cat /tmp/last')
((last > first)) || fail "the guest wrote nothing during the migration ($first, then $last)"
log "the guest wrote counters $first..$last; $((last - first)) of them during the migration"
guest_md5=$(guest_exec "$SOCK_B" 'echo 3 > /proc/sys/vm/drop_caches; dd if=/dev/vda bs=512 count=2048 2>/dev/null | md5sum' | cut -d' ' -f1)
qm_b stop "$vm" >/dev/null || fail "stop on B"
host_md5=$(head -c 1048576 "$S/b-data.img" | md5sum | cut -d' ' -f1)
[[ "$guest_md5" == "$host_md5" ]] ||
  fail "B's image ($host_md5) is not what the guest last saw ($guest_md5)"
grep_q "$(printf '%08d' "$last")" < <(head -c 1048576 "$S/b-data.img" | tr -d '\0') ||
  fail "the last counter $last is not in B's image"
log "PASS"
