#!/usr/bin/env bash
# Hotplug through qmctl and the API on a running test guest (TCG), checked from inside the
# guest over its serial console: a disk (its size, then gone after detach), a NIC (its MAC
# in /sys/class/net), a second vCPU (/sys/devices/system/cpu/online), virtio-mem (MemTotal
# grows by the requested amount). Failure paths leave the VM as it was: a missing file (400),
# a duplicate name (409), beyond maxSockets / maxGuest (400, the limit named), the balloon on
# a virtio-mem VM (409), a detach the guest ignores (504; qmd frees the nodes when it lets
# go later). --persist shows in the stored definition and leaves it on detach.
source "$(dirname "$0")/lib.sh"
e2e_setup

vm=hp1
file=$(spec "$vm" Manual)
sed -i -e 's/cpu: {cores: 1}/cpu: {cores: 1, sockets: 1, maxSockets: 2}/' \
  -e 's/memory: {guest: 256Mi}/memory: {guest: 256Mi, maxGuest: 512Mi}/' "$file"
grep_q maxSockets "$file" || fail "spec edit did not apply"

# The QEMU user (nobody when root) opens the images itself.
install -m 0666 "$QMD_GUEST_DIR/disk.img" "$S/hot.img"
install -m 0666 "$QMD_GUEST_DIR/disk.img" "$S/kept.img"
sectors=$(($(stat -c %s "$S/hot.img") / 512))

qm create -f "$file" >/dev/null || fail "qmctl create"
qm start "$vm" >/dev/null || fail "qmctl start"
wait_agent "$vm" 120

log "disk: attach, seen by the guest with its size"
guest_is "$vm" 'ls /sys/block' "" || fail "the guest has a disk before any attach"
qm attach-disk "$vm" --name data --path "$S/hot.img" >/dev/null || fail "qmctl attach-disk"
guest_wait 60 "the guest to see vda with $sectors sectors" "$vm" \
  'cat /sys/block/vda/size 2>/dev/null' "$sectors"

log "disk: a duplicate name is 409, a missing file 400 naming the path"
expect_status 409 POST "/v1/vms/$vm/disks" -H 'Content-Type: application/json' \
  -d "{\"name\":\"data\",\"path\":\"$S/kept.img\"}"
expect_status 400 POST "/v1/vms/$vm/disks" -H 'Content-Type: application/json' \
  -d "{\"name\":\"nope\",\"path\":\"$S/missing.img\"}"
grep_q "$S/missing.img" <<<"$BODY" || fail "the 400 does not name the path: $BODY"
expect_status 400 POST "/v1/vms/$vm/disks" -H 'Content-Type: application/json' \
  -d "{\"name\":\"x\",\"path\":\"$S/kept.img\",\"color\":\"red\"}"

log "disk: detach, gone from the guest"
qm detach-disk "$vm" data >/dev/null || fail "qmctl detach-disk"
guest_wait 60 "vda to leave the guest" "$vm" 'ls /sys/block' ""
expect_status 404 DELETE "/v1/vms/$vm/disks/data"

log "disk: the names of the failed attach are free (no stray block node), --persist"
qm attach-disk "$vm" --name nope --path "$S/kept.img" --readonly --persist >/dev/null ||
  fail "attach after a failed attach of the same name"
spec_text=$(show_field "$vm" 'd["specText"]')
grep_q "$S/kept.img" <<<"$spec_text" || fail "--persist: the path is not in specText: $spec_text"
grep_q "name: nope" <<<"$spec_text" || fail "--persist: no disk nope in specText: $spec_text"
guest_wait 60 "the persisted disk in the guest" "$vm" 'cat /sys/block/vda/ro 2>/dev/null' 1
qm detach-disk "$vm" nope --persist >/dev/null || fail "detach-disk --persist"
spec_text=$(show_field "$vm" 'd["specText"]')
grep_q "$S/kept.img" <<<"$spec_text" && fail "detach --persist left the disk in specText"
guest_wait 60 "the persisted disk to leave" "$vm" 'ls /sys/block' ""

log "disk: a detach the guest ignores (its vCPUs paused) is a clear 504, the disk stays"
qm attach-disk "$vm" --name slow --path "$S/hot.img" >/dev/null || fail "attach slow"
guest_wait 60 "the guest to see vda again" "$vm" 'cat /sys/block/vda/size 2>/dev/null' "$sectors"
qm pause "$vm" >/dev/null || fail "qmctl pause"
expect_status 504 DELETE "/v1/vms/$vm/disks/slow"
grep_q "did not release disk slow within 30 s" <<<"$BODY" || fail "unclear timeout: $BODY"
[[ "$(vm_state $vm)" == paused ]] || fail "the VM is not paused after the failed detach"
expect_status 409 POST "/v1/vms/$vm/disks" -H 'Content-Type: application/json' \
  -d "{\"name\":\"slow\",\"path\":\"$S/hot.img\"}"
log "disk: resumed, the guest lets go late and qmd frees the block nodes then"
qm resume "$vm" >/dev/null || fail "qmctl resume"
guest_wait 60 "vda to leave after resume" "$vm" 'ls /sys/block' ""
until_free() { qm attach-disk "$vm" --name slow --path "$S/hot.img" >/dev/null 2>&1; }
wait_for 20 "the name slow to be free again (nodes released late)" until_free
guest_wait 60 "the re-attached vda" "$vm" 'cat /sys/block/vda/size 2>/dev/null' "$sectors"
qm detach-disk "$vm" slow >/dev/null || fail "detach slow"
guest_wait 60 "vda to leave" "$vm" 'ls /sys/block' ""

log "NIC: attach, seen with its MAC; detach, gone"
mac=52:54:00:aa:bb:01
qm attach-interface "$vm" --name extra --mac "$mac" >/dev/null || fail "qmctl attach-interface"
guest_wait 60 "a NIC with $mac" "$vm" "grep -l $mac /sys/class/net/*/address | wc -l" 1
expect_status 409 POST "/v1/vms/$vm/interfaces" -H 'Content-Type: application/json' \
  -d '{"name":"extra"}'
qm detach-interface "$vm" extra >/dev/null || fail "qmctl detach-interface"
guest_wait 60 "the NIC with $mac to go" "$vm" "grep -l $mac /sys/class/net/*/address | wc -l" 0

log "vCPUs: 2 within maxSockets; 3 is beyond it"
guest_is "$vm" 'cat /sys/devices/system/cpu/online' 0 || fail "not 1 vCPU at boot"
qm set-cpus "$vm" 2 >/dev/null || fail "qmctl set-cpus 2"
guest_wait 60 "cpu online 0-1" "$vm" 'cat /sys/devices/system/cpu/online' 0-1
expect_status 400 PUT "/v1/vms/$vm/cpus" -H 'Content-Type: application/json' -d '{"count":3}'
grep_q maxSockets <<<"$BODY" || fail "the 400 does not name maxSockets: $BODY"

log "memory: virtio-mem to 384Mi; beyond maxGuest is 400; no balloon beside virtio-mem"
before=$(guest_sh "$vm" "awk '\$1 == \"MemTotal:\" { print \$2 }' /proc/meminfo") || true
[[ "$before" =~ ^[0-9]+$ ]] || fail "no MemTotal from the guest: '$before'"
out=$(qm set-memory "$vm" 384Mi --persist) || fail "qmctl set-memory --persist: $out"
grep_q "(persisted)" <<<"$out" || fail "set-memory --persist said: $out"
show_field "$vm" 'd["specText"]' | grep_q "guest: 384Mi" ||
  fail "set-memory --persist: no 'guest: 384Mi' in specText"
grown() {
  local now
  now=$(guest_sh "$vm" "awk '\$1 == \"MemTotal:\" { print \$2 }' /proc/meminfo") || return 1
  [[ "$now" =~ ^[0-9]+$ ]] && ((now - before >= 120 * 1024 && now - before <= 128 * 1024))
}
wait_for 90 "MemTotal to grow by 128Mi (from $before KiB)" grown
expect_status 400 PUT "/v1/vms/$vm/memory" -H 'Content-Type: application/json' \
  -d '{"size":"1Gi"}'
grep_q maxGuest <<<"$BODY" || fail "the 400 does not name maxGuest: $BODY"
expect_status 409 PUT "/v1/vms/$vm/balloon" -H 'Content-Type: application/json' \
  -d '{"size":"192Mi"}'
expect_status 400 PUT "/v1/vms/$vm/balloon" -H 'Content-Type: application/json' \
  -d '{"size":"192Mi","persist":true}'

log "still running; kill and delete"
[[ "$(vm_state $vm)" == running ]] || fail "not running after the hotplug changes"
qm kill "$vm" >/dev/null || fail "qmctl kill"
qm delete "$vm" >/dev/null || fail "qmctl delete"
log "ok"
