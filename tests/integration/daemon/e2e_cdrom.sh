#!/usr/bin/env bash
# CD-ROM media at run time, seen by the guest: an empty scsi cdrom drive at boot, a disc
# inserted (the guest reads its first bytes from /dev/sr0), swapped for another of another
# size, ejected (no medium); --persist makes the disc the definition's volume, so the next
# boot has it, and an eject then takes out the disc the VM booted with. Attacks: an image
# outside the storage roots, a link in a root (to outside, and to an image inside), a disk
# that is no cdrom or does not exist: each a 400/404 naming it, and the disc stays.
source "$(dirname "$0")/lib.sh"
e2e_setup

# image FILE MARKER MIB: a raw disc image whose first bytes are MARKER.
image() {
  truncate -s "${3}M" "$1"
  printf '%s' "$2" | dd of="$1" conv=notrunc status=none
  chmod 0644 "$1"
}
image "$S/one.iso" QMD-CD-ONE 2
image "$S/two.iso" QMD-CD-TWO 4

f=$(spec cdvm)
sed -i 's/^          autoattachGraphicsDevice: false$/&\n          disks:\n          - name: cd\n            cdrom: {bus: scsi}/' "$f"
grep_q 'cdrom: {bus: scsi}' "$f" || fail "the spec has no cdrom"

# The guest's view: the first 10 bytes of /dev/sr0 (opening it revalidates the medium), or
# "none" when it has no medium; and the size in 512-byte sectors.
disc() { qm exec cdvm -- sh -c 'head -c 10 /dev/sr0 2>/dev/null || echo none' 2>/dev/null; }
disc_is() { [[ "$(disc)" == "$1" ]]; }
size_is() { [[ "$(qm exec cdvm -- cat /sys/block/sr0/size 2>/dev/null)" == "$1" ]]; }
spec_has_volume() { qm -o json show cdvm | json_get 'd["specText"]' | grep_q "$1"; }

scenario_empty_drive_at_boot() {
  qm create -f "$f" >/dev/null || fail "create: a cdrom without a volume is an empty drive"
  qm start cdvm >/dev/null || fail "start"
  wait_agent cdvm
  wait_for 30 "the guest's /dev/sr0" qm exec cdvm -- test -b /dev/sr0
  disc_is none || fail "the empty drive has a disc: $(disc)"
  qm argv cdvm | grep_q '^scsi-cd,id=disk-cd,bus=scsi0.0,channel=0,scsi-id=0,lun=0$' ||
    qm argv cdvm | grep_q 'scsi-cd,id=disk-cd' || fail "no scsi-cd in the argv"
}

scenario_insert_swap_eject() {
  qm cdrom cdvm cd --insert "$S/one.iso" >/dev/null || fail "insert one"
  wait_for 30 "the guest to read disc one" disc_is QMD-CD-ONE
  size_is 4096 || fail "disc one's size in the guest: $(qm exec cdvm -- cat /sys/block/sr0/size)"
  qm cdrom cdvm cd --insert "$S/two.iso" >/dev/null || fail "insert two over one"
  wait_for 30 "the guest to read disc two" disc_is QMD-CD-TWO
  size_is 8192 || fail "disc two's size in the guest"
  api GET '/v1/events?vm=cdvm'
  grep_q "cdrom cd: $S/two.iso (raw) inserted" <<<"$BODY" || fail "no MediumInserted event"
  qm cdrom cdvm cd --eject >/dev/null || fail "eject"
  wait_for 30 "the guest to see no disc" disc_is none
  expect_status 200 PUT /v1/vms/cdvm/disks/cd/medium -H 'Content-Type: application/json' \
    -d "{\"path\":\"$S/one.iso\"}"
  wait_for 30 "disc one again" disc_is QMD-CD-ONE
  spec_has_volume one.iso && fail "a change without persist went into the definition"
  return 0
}

scenario_bad_media_refused_disc_stays() {
  ln -sf /etc/passwd "$S/passwd.iso"
  ln -sf "$S/two.iso" "$S/link-to-two.iso"
  expect_status 400 PUT /v1/vms/cdvm/disks/cd/medium -H 'Content-Type: application/json' \
    -d '{"path":"/etc/passwd"}'
  grep_q '/etc/passwd' <<<"$BODY" && grep_q "$S" <<<"$BODY" ||
    fail "the 400 names neither the path nor the roots: $BODY"
  local bad
  for bad in "$S/passwd.iso" "$S/link-to-two.iso" "$S/../../etc/passwd" "$S/missing.iso"; do
    expect_status 400 PUT /v1/vms/cdvm/disks/cd/medium -H 'Content-Type: application/json' \
      -d "{\"path\":\"$bad\"}"
  done
  qm cdrom cdvm cd --insert "$S/passwd.iso" 2>"$T/err" && fail "qmctl inserted a link"
  grep_q 'passwd.iso' "$T/err" || fail "qmctl does not name the link: $(cat "$T/err")"
  expect_status 404 PUT /v1/vms/cdvm/disks/nope/medium -H 'Content-Type: application/json' \
    -d "{\"path\":\"$S/two.iso\"}"
  expect_status 400 PUT /v1/vms/cdvm/disks/cd/medium -H 'Content-Type: application/json' \
    -d '{"path":""}'
  expect_status 400 PUT /v1/vms/cdvm/disks/cd/medium -H 'Content-Type: application/json' \
    -d "{\"path\":\"$S/two.iso\",\"force\":true}"
  local status=0
  qm cdrom cdvm cd --insert "$S/two.iso" --eject >/dev/null 2>&1 || status=$?
  ((status == 2)) || fail "--insert with --eject is no usage error (exit $status)"
  disc_is QMD-CD-ONE || fail "a refused change moved the disc: $(disc)"
  [[ "$(readlink "$S/passwd.iso")" == /etc/passwd ]] || fail "the link was changed"
  rm -f "$S/passwd.iso" "$S/link-to-two.iso"
}

scenario_persist_and_boot_with_the_disc() {
  qm cdrom cdvm cd --insert "$S/two.iso" --persist >/dev/null || fail "insert --persist"
  wait_for 30 "disc two" disc_is QMD-CD-TWO
  spec_has_volume "$S/two.iso" || fail "--persist did not write the volume"
  qm kill cdvm >/dev/null
  qm start cdvm >/dev/null || fail "start with the disc in the definition"
  wait_agent cdvm
  wait_for 30 "disc two at boot" disc_is QMD-CD-TWO
  qm cdrom cdvm cd --eject --persist >/dev/null || fail "eject --persist of the boot disc"
  wait_for 30 "no disc" disc_is none
  spec_has_volume two.iso && fail "eject --persist left the volume"
  qm kill cdvm >/dev/null
  expect_status 409 DELETE /v1/vms/cdvm/disks/cd/medium
  qm delete cdvm >/dev/null
}

run_scenarios cdrom scenario_empty_drive_at_boot scenario_insert_swap_eject \
  scenario_bad_media_refused_disc_stays scenario_persist_and_boot_with_the_disc
