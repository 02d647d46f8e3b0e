#!/usr/bin/env bash
# More hotplug on one running test guest (TCG), checked from inside the guest over its serial
# console and, for pinning, from the host's view of QEMU's vCPU threads:
# a SCSI-bus disk (LUN 1 beside the spec's LUN 0) comes and goes; the spec's own disk is
# detached for this run only (the definition keeps it); a NIC attached and detached with
# --persist goes in and out of the stored definition; vCPUs go up and back down and
# /sys/devices/system/cpu/online follows (persist writes cpu.sockets, only when asked); with
# dedicatedCpuPlacement a hot-added vCPU is pinned to its own host CPU.
source "$(dirname "$0")/lib.sh"
e2e_setup

vm=hm1
file=$(spec "$vm" Manual)
truncate -s 16M "$S/base.img"
truncate -s 8M "$S/hot.img"
chmod 0666 "$S/base.img" "$S/hot.img"  # the QEMU user (nobody when root) opens them itself
sed -i \
  -e 's/cpu: {cores: 1}/cpu: {cores: 1, sockets: 1, maxSockets: 2, dedicatedCpuPlacement: true}/' \
  -e 's/^          interfaces: \[\]/&\n          disks: [{name: base, disk: {bus: scsi}}]/' \
  -e "s|^      networks: \[\]|&\n      volumes: [{name: base, file: {path: $S/base.img, format: raw}}]|" \
  "$file"
grep_q 'bus: scsi' "$file" && grep_q "$S/base.img" "$file" || fail "spec edit did not apply"

qm create -f "$file" >/dev/null || fail "qmctl create"
qm start "$vm" >/dev/null || fail "qmctl start"
wait_agent "$vm" 120

log "SCSI disk: the spec's disk is sda (16 MiB); a hot-added scsi disk is sdb (8 MiB)"
guest_wait 30 "sda of 32768 sectors" "$vm" 'ls -1 /sys/block; cat /sys/block/sda/size' sda,32768
qm attach-disk "$vm" --name hot --bus scsi --path "$S/hot.img" >/dev/null ||
  fail "qmctl attach-disk --bus scsi"
guest_wait 60 "sdb of 16384 sectors on LUN 1" "$vm" \
  'ls -1 /sys/block; cat /sys/block/sdb/size; ls /sys/block/sdb/device/scsi_disk | cut -d: -f2-' \
  sda,sdb,16384,0:0:1
qm detach-disk "$vm" hot >/dev/null || fail "qmctl detach-disk hot"
guest_wait 60 "sdb to leave" "$vm" 'ls -1 /sys/block' sda

log "spec disk: detached for this run (the definition keeps it); a second detach is 404"
qm detach-disk "$vm" base >/dev/null || fail "qmctl detach-disk base"
guest_wait 60 "sda to leave" "$vm" 'ls -1 /sys/block | wc -l' 0
expect_status 404 DELETE "/v1/vms/$vm/disks/base"
spec_text=$(show_field "$vm" 'd["specText"]')
grep_q "$S/base.img" <<<"$spec_text" || fail "a detach without --persist changed specText"

log "NIC with --persist: in the guest and the definition; detached with --persist, out of both"
mac=52:54:00:aa:bb:02
qm attach-interface "$vm" --name net2 --mac "$mac" --persist >/dev/null ||
  fail "qmctl attach-interface --persist"
guest_wait 60 "a NIC with $mac" "$vm" "grep -l $mac /sys/class/net/*/address | wc -l" 1
spec_text=$(show_field "$vm" 'd["specText"]')
grep_q "macAddress: \"\?$mac" <<<"$spec_text" || fail "--persist: no $mac in specText: $spec_text"
qm detach-interface "$vm" net2 --persist >/dev/null || fail "qmctl detach-interface --persist"
guest_wait 60 "the NIC with $mac to go" "$vm" "grep -l $mac /sys/class/net/*/address | wc -l" 0
spec_text=$(show_field "$vm" 'd["specText"]')
grep_q "$mac" <<<"$spec_text" && fail "detach --persist left $mac in specText: $spec_text"
grep_q "$S/base.img" <<<"$spec_text" || fail "the spec disk went from specText"

# cpu_of TID-NAME: the host CPUs QEMU's vCPU thread NAME ("CPU 1/TCG") may run on.
cpu_of() {
  local pid task
  pid=$(vm_pid "$vm")
  for task in /proc/"$pid"/task/*; do
    if [[ "$(cat "$task/comm" 2>/dev/null)" == "$1" ]]; then
      proc_status "${task#/proc/}" Cpus_allowed_list
      return 0
    fi
  done
  return 1
}
set_cpus() {  # set_cpus N [persist]: through the API, checks the answer's count and pinned
  expect_status 200 PUT "/v1/vms/$vm/cpus" -H 'Content-Type: application/json' \
    -d "{\"count\":$1,\"persist\":${2:-false}}"
  [[ "$(json_get 'd["count"]' <<<"$BODY"),$(json_get 'd["pinned"]' <<<"$BODY")" == "$1,true" ]] ||
    fail "set-cpus $1: $BODY"
}

# Last, and only one round: after a vCPU unplug, QEMU 7.2 under TCG aborts on the next
# device_add (a vCPU or a NIC alike).
log "vCPUs: 1 -> 2 -> 1; the hot-added vCPU pinned to a host CPU of its own"
guest_is "$vm" 'cat /sys/devices/system/cpu/online' 0 || fail "not 1 vCPU at boot"
boot_cpu=$(cpu_of "CPU 0/TCG") || fail "no thread CPU 0/TCG in QEMU"
[[ "$boot_cpu" =~ ^[0-9]+$ ]] || fail "the boot vCPU is not pinned to one CPU: $boot_cpu"
set_cpus 2 true
guest_wait 60 "cpu online 0-1" "$vm" 'cat /sys/devices/system/cpu/online' 0-1
show_field "$vm" 'd["specText"]' | grep_q "sockets: 2" || fail "persist: no 'sockets: 2' in specText"
hot_cpu=$(cpu_of "CPU 1/TCG") || fail "no thread CPU 1/TCG after set-cpus 2"
[[ "$hot_cpu" =~ ^[0-9]+$ && "$hot_cpu" != "$boot_cpu" ]] ||
  fail "the hot-added vCPU runs on '$hot_cpu' (the boot vCPU holds $boot_cpu)"
set_cpus 1
guest_wait 60 "cpu online 0" "$vm" 'cat /sys/devices/system/cpu/online' 0
cpu_of "CPU 1/TCG" >/dev/null && fail "the vCPU thread CPU 1/TCG is still there"
show_field "$vm" 'd["specText"]' | grep_q "sockets: 2" ||
  fail "set-cpus without persist changed the definition"

log "still running; kill and delete"
[[ "$(vm_state $vm)" == running ]] || fail "not running after the hotplug changes"
qm kill "$vm" >/dev/null || fail "qmctl kill"
qm delete "$vm" >/dev/null || fail "qmctl delete"
log "ok"
