#!/usr/bin/env bash
# KubeVirt device fields on the real test guest: the kubevirt.io/disablePCIHole64 annotation
# reaches QEMU (no 64-bit PCI window, SeaBIOS told through fw_cfg), an rtl8139 NIC sits on
# the guest's PCI bus (both for the windows.xp and windows.2k3 preferences), and a SCSI disk
# with rotationRate: 1 is non-rotational in the guest while one without is rotational. An
# unknown NIC model and a rotationRate on virtio are 400s naming the field.
source "$(dirname "$0")/lib.sh"
e2e_setup

vm=old1
file=$(spec "$vm" Manual)
sed -i 's/^  template:$/&\n    metadata:\n      annotations: {kubevirt.io\/disablePCIHole64: "true"}/' "$file"
sed -i 's/^          interfaces: \[\]$/          interfaces: [{name: default, masquerade: {}, model: rtl8139}]/' "$file"
sed -i 's/^      networks: \[\]$/      networks: [{name: default, pod: {}}]/' "$file"
sed -i "s|^          interfaces: |          disks: [{name: ssd, disk: {bus: scsi, rotationRate: 1}}, {name: hdd, disk: {bus: scsi}}]\n&|" "$file"
cat >>"$file" <<EOF
      volumes:
      - {name: ssd, hostDisk: {path: $S/ssd.img, type: DiskOrCreate, capacity: 1Mi}}
      - {name: hdd, hostDisk: {path: $S/hdd.img, type: DiskOrCreate, capacity: 1Mi}}
EOF
grep_q 'model: rtl8139' "$file" && grep_q 'disablePCIHole64' "$file" || fail "spec: $(cat "$file")"

bad=$T/bad.yaml
sed 's/model: rtl8139/model: igb/' "$file" >"$bad"
expect_status 400 POST /v1/vms -H 'Content-Type: application/yaml' --data-binary "@$bad"
json_get 'd["error"]["message"]' <<<"$BODY" | grep_q -F \
  'interfaces[0].model: "igb" is not one of virtio, e1000e, e1000, rtl8139, pcnet, ne2k_pci' ||
  fail "igb: $BODY"
expect_status 404 GET "/v1/vms/$vm"
sed 's/{bus: scsi, rotationRate: 1}/{bus: virtio, rotationRate: 1}/' "$file" >"$bad"
expect_status 400 POST /v1/vms -H 'Content-Type: application/yaml' --data-binary "@$bad"
json_get 'd["error"]["message"]' <<<"$BODY" | grep_q -F \
  'disks[0].disk.rotationRate: needs a disk on bus scsi or sata (this disk is on virtio)' ||
  fail "rotationRate on virtio: $BODY"
expect_status 404 GET "/v1/vms/$vm"

expect_status 201 POST /v1/vms -H 'Content-Type: application/yaml' --data-binary "@$file"
qm start "$vm" >/dev/null || fail "qmctl start $vm"
wait_agent "$vm" 120
pid=$(vm_pid "$vm")
argv=$(tr '\0' ' ' <"/proc/$pid/cmdline")
grep_q -- '-global q35-pcihost.pci-hole64-size=0 ' <<<"$argv" || fail "no pci-hole64-size: $argv"
grep_q -- '-fw_cfg name=opt/org.seabios/pci64,string=no ' <<<"$argv" || fail "no fw_cfg: $argv"
ids=$(qm exec "$vm" -- /bin/sh -c 'cd /sys/bus/pci/devices && for d in *; do
  echo "$(cat $d/vendor):$(cat $d/device)"; done') || fail "list the guest's PCI devices"
grep_q '^0x10ec:0x8139$' <<<"$ids" || fail "the guest has no rtl8139: $ids"
# The SCSI disks by their LUN (qmd gives them in the spec's order: ssd 0, hdd 1), not by
# sdX: the guest's SCSI scan may name them in either order.
rot=$(qm exec "$vm" -- /bin/sh -c 'for d in /sys/block/sd*; do a=$(basename "$(readlink $d/device)")
  echo "lun ${a##*:} $(cat $d/size) $(cat $d/queue/rotational)"; done | sort') ||
  fail "read the guest's disks"
[[ "$rot" == $'lun 0 2048 0\nlun 1 2048 1' ]] || fail "rotational flags in the guest: $rot"
qm kill "$vm" >/dev/null || fail "qmctl kill"
log "PASS old guests"
