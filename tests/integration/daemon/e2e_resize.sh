#!/usr/bin/env bash
# Online disk resize seen by the guest: a raw file disk and a hostDisk DiskOrCreate that qmd
# made grow while the guest runs (their /sys/block/vdX/size follows, and the host image
# file is longer); --persist writes the DiskOrCreate capacity into the definition and is
# refused, before anything changes, for a file volume; shrinking, the same size, an odd
# number of bytes, a cdrom, an unknown disk and a stopped VM are refused and change nothing.
source "$(dirname "$0")/lib.sh"
e2e_setup

truncate -s 16M "$S/data.img"
chmod 0644 "$S/data.img"
f=$(spec rsz)
sed -i 's/^          autoattachGraphicsDevice: false$/&\n          disks:\n          - {name: data, disk: {bus: virtio}}\n          - {name: made, disk: {bus: virtio}}\n          - {name: cd, cdrom: {bus: scsi}}/' "$f"
cat >>"$f" <<EOF2
      volumes:
      - {name: data, file: {path: $S/data.img, format: raw}}
      - {name: made, hostDisk: {path: $S/made.img, type: DiskOrCreate, capacity: 8Mi}}
EOF2

# The guest's virtio disks' sizes in 512-byte sectors, sorted, joined by commas.
sizes() {
  qm exec rsz -- sh -c 'cat /sys/block/vd*/size' 2>/dev/null | sort -n | paste -sd, -
}
sizes_are() { [[ "$(sizes)" == "$1" ]]; }
spec_text() { qm -o json show rsz | json_get 'd["specText"]'; }

scenario_grow_seen_by_the_guest() {
  qm create -f "$f" >/dev/null || fail "create"
  qm start rsz >/dev/null || fail "start"
  wait_agent rsz
  wait_for 30 "both disks in the guest" sizes_are 16384,32768
  qm resize-disk rsz data 48Mi >/dev/null || fail "resize-disk data"
  wait_for 30 "the guest to see 48 MiB" sizes_are 16384,98304
  [[ "$(stat -c %s "$S/data.img")" == $((48 << 20)) ]] || fail "the image did not grow"
  spec_text | grep_q 'data.img' || fail "the definition lost the disk"
  api GET '/v1/events?vm=rsz'
  grep_q 'disk data: 16Mi -> 48Mi' <<<"$BODY" || fail "no DiskResized event: $BODY"
}

scenario_persist_for_images_qmd_made() {
  expect_status 400 PUT /v1/vms/rsz/disks/data/size -H 'Content-Type: application/json' \
    -d '{"size":"64Mi","persist":true}'
  grep_q 'no capacity in its definition' <<<"$BODY" || fail "the 400 says not why: $BODY"
  sizes_are 16384,98304 || fail "a refused --persist resized the disk: $(sizes)"
  qm resize-disk rsz made 12Mi --persist >/dev/null || fail "resize-disk made --persist"
  wait_for 30 "the guest to see 12 MiB" sizes_are 24576,98304
  spec_text | grep_q 'capacity: 12Mi' || fail "the capacity was not persisted: $(spec_text)"
}

scenario_refusals_change_nothing() {
  local before
  before=$(spec_text)
  local body
  for body in '{"size":"8Mi"}' '{"size":"48Mi"}' '{"size":50331649}' '{"size":"lots"}' \
    '{"size":-5}' '{}' '{"size":"64Mi","shrink":true}'; do
    expect_status 400 PUT /v1/vms/rsz/disks/data/size -H 'Content-Type: application/json' \
      -d "$body"
  done
  api PUT /v1/vms/rsz/disks/data/size -H 'Content-Type: application/json' -d '{"size":"8Mi"}'
  grep_q 'can only grow' <<<"$BODY" || fail "a shrink is not explained: $BODY"
  expect_status 400 PUT /v1/vms/rsz/disks/cd/size -H 'Content-Type: application/json' \
    -d '{"size":"64Mi"}'
  expect_status 404 PUT /v1/vms/rsz/disks/nope/size -H 'Content-Type: application/json' \
    -d '{"size":"64Mi"}'
  qm resize-disk rsz data 1Mi 2>"$T/err" && fail "qmctl shrank a disk"
  grep_q 'can only grow' "$T/err" || fail "qmctl: $(cat "$T/err")"
  sizes_are 24576,98304 || fail "a refusal changed a disk: $(sizes)"
  [[ "$(stat -c %s "$S/data.img")" == $((48 << 20)) ]] || fail "a refusal changed the image"
  [[ "$(spec_text)" == "$before" ]] || fail "a refusal changed the definition"
  qm kill rsz >/dev/null
  expect_status 409 PUT /v1/vms/rsz/disks/data/size -H 'Content-Type: application/json' \
    -d '{"size":"64Mi"}'
  qm delete rsz >/dev/null
}

run_scenarios resize scenario_grow_seen_by_the_guest scenario_persist_for_images_qmd_made \
  scenario_refusals_change_nothing
