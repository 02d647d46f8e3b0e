#!/bin/bash
# cloud-init seeds end to end. A malformed payload is a 400 naming the field and its
# line:column, and nothing is defined; a sysprep volume is a CD-ROM holding the local
# secret's autounattend.xml; a ConfigDrive seed (user data from a local secret) is
# built at start in the run dir, labelled config-2, with the VM's uuid, handed to the QEMU
# user; a missing secret fails the start naming the volume and the path, leaving no image;
# and a small Debian 12 with Debian's real cloud-init (tests/guest/build-cloud-guest.sh,
# cached) boots under TCG from a NoCloud seed whose userData sets its host name, creates a
# user and gives it an SSH key, read back through the guest agent; the same VM's
# kubevirt.io/ignitiondata annotation is in the guest's fw_cfg, and (qmd at debug verbosity)
# SeaBIOS's debug port is in its firmware.log, which outlives the run as the seed does not.
source "$(dirname "$0")/lib.sh"

CLOUD_DIR=${QMD_CLOUD_GUEST_DIR:-$QMD_GUEST_DIR/../cloud-guest}
IGNITION='{"ignition":{"version":"3.3.0"},"passwd":{"users":[{"name":"core"}]}}'
"$QMD_SOURCE_DIR/tests/guest/ensure-packages.sh" genisoimage  # isoinfo reads the seeds back

e2e_dir
mkdir -p -m 0700 "$T/state/secrets/cd-user"
printf '#cloud-config\nhostname: from-secret\n' >"$T/state/secrets/cd-user/userdata"
e2e_setup

# with_volume FILE DISK VOLUME: adds a disk and a volume (YAML flow text) to a spec().
with_volume() {
  python3 - "$@" <<'PY'
import sys
path, disk, volume = sys.argv[1:]
text = open(path).read()
text = text.replace("          interfaces: []", "          interfaces: []\n          disks: [" + disk + "]")
text += "      volumes: [" + volume + "]\n"
open(path, "w").write(text)
PY
}

scenario_bad_payload() {
  local file
  file=$(spec bad)
  with_volume "$file" "{name: ci, cdrom: {bus: sata}}" \
    "{name: ci, cloudInitNoCloud: {userDataBase64: \"I2Nsb3Vk!\"}}"
  if qm create -f "$file" >/dev/null 2>"$T/bad.err"; then
    fail "a malformed userDataBase64 was accepted"
  fi
  grep_q -E "spec.template.spec.volumes\[0\].cloudInitNoCloud.userDataBase64: is not base64: the byte 0x21 at offset 8 .*\(request body:23:63\)$" "$T/bad.err" ||
    fail "the error does not name the field and its position: $(cat "$T/bad.err")"
  api GET /v1/vms/bad
  [[ "$STATUS" == 404 ]] || fail "VM bad exists after a refused create (HTTP $STATUS)"
  log "PASS a malformed payload is a 400 naming the field; nothing defined"
}

scenario_config_drive() {
  local file iso uuid
  file=$(spec cd1)
  with_volume "$file" "{name: ci, cdrom: {bus: sata}}" \
    "{name: ci, cloudInitConfigDrive: {secretRef: {name: cd-user}, networkData: '{\"links\": []}'}}"
  qm create -f "$file" >/dev/null || fail "create cd1"
  qm start cd1 >/dev/null || fail "start cd1"
  iso=$T/run/vms/cd1/seed-ci.iso
  uuid=$(show_field cd1 'd["uuid"]')
  [[ "$(isoinfo -d -i "$iso" | sed -n 's/^Volume id: //p')" == config-2 ]] || fail "label of $iso"
  [[ "$(isoinfo -R -i "$iso" -x /openstack/latest/meta_data.json)" == \
    "{\"uuid\": \"$uuid\", \"hostname\": \"cd1\", \"name\": \"cd1\"}" ]] ||
    fail "meta_data.json: $(isoinfo -R -i "$iso" -x /openstack/latest/meta_data.json)"
  [[ "$(isoinfo -R -i "$iso" -x /openstack/latest/user_data)" == \
    "$(cat "$T/state/secrets/cd-user/userdata")" ]] || fail "user_data is not the secret's"
  [[ "$(isoinfo -R -i "$iso" -x /openstack/latest/network_data.json)" == '{"links": []}' ]] ||
    fail "network_data.json"
  [[ "$(stat -c %u:%a "$iso")" == "$(qemu_owner cd1):600" ]] || fail "seed owner/mode $(stat -c %u:%a "$iso")"
  qm kill cd1 >/dev/null || fail "kill cd1"
  log "PASS a ConfigDrive seed from a secret: config-2, the VM's uuid, the QEMU user's"
}

scenario_missing_secret() {
  local file out
  file=$(spec ms1)
  with_volume "$file" "{name: ci, disk: {bus: virtio}}" \
    "{name: ci, cloudInitNoCloud: {secretRef: {name: nowhere}}}"
  qm create -f "$file" >/dev/null || fail "create ms1"
  if out=$(qm start ms1 2>&1); then
    fail "ms1 started without its secret"
  fi
  grep_q "VM ms1: start failed at prepare: volume \"ci\" (cloudInitNoCloud): building its seed image $T/run/vms/ms1/seed-ci.iso failed: secret nowhere does not exist: put the data in $T/state/secrets/nowhere/userdata" <<<"$out" ||
    fail "the start error: $out"
  [[ -z "$(find "$T/run/vms/ms1" -name 'seed-*' 2>/dev/null)" ]] || fail "a seed image was left"
  [[ "$(vm_state ms1)" == stopped ]] || fail "ms1 is $(vm_state ms1)"
  [[ -z "$(find "${TMPDIR:-/tmp}" -maxdepth 1 -name 'qmd-seed-*' -newer "$file" 2>/dev/null)" ]] ||
    fail "a staging directory was left"
  log "PASS a missing secret fails the start naming volume and path; nothing left"
}

scenario_sysprep() {
  local file iso
  mkdir -p -m 0700 "$T/state/secrets/win-answers"
  printf '<unattend xmlns="urn:schemas-microsoft-com:unattend"/>\n' \
    >"$T/state/secrets/win-answers/Autounattend.xml"
  file=$(spec sp1)
  with_volume "$file" "{name: answers, cdrom: {bus: sata}}" \
    "{name: answers, sysprep: {configMap: {name: win-answers}}}"
  qm create -f "$file" >/dev/null || fail "create sp1"
  qm start sp1 >/dev/null || fail "start sp1"
  iso=$T/run/vms/sp1/seed-answers.iso
  [[ "$(isoinfo -d -i "$iso" | sed -n 's/^Volume id: //p')" == sysprep ]] || fail "label of $iso"
  [[ "$(isoinfo -R -f -i "$iso")" == /autounattend.xml ]] || fail "files: $(isoinfo -R -f -i "$iso")"
  [[ "$(isoinfo -R -i "$iso" -x /autounattend.xml)" == \
    "$(cat "$T/state/secrets/win-answers/Autounattend.xml")" ]] || fail "autounattend.xml"
  qm kill sp1 >/dev/null || fail "kill sp1"
  log "PASS a sysprep volume is a CD-ROM labelled sysprep holding the secret's answer file"
}

scenario_real_cloud_init() {
  local t0 file key uuid
  t0=$(now_ms)
  "$QMD_SOURCE_DIR/tests/guest/build-cloud-guest.sh" "$CLOUD_DIR" >/dev/null ||
    fail "building the cloud-init guest"
  log "cloud-init guest ready in $((($(now_ms) - t0) / 1000)) s (cached after the first build)"
  mkdir -p "$S/cloud"
  install -m 0644 "$CLOUD_DIR/vmlinuz" "$CLOUD_DIR/initrd.img" "$S/cloud/"
  cp --sparse=always "$CLOUD_DIR/disk.img" "$S/cloud/root.img"
  ssh-keygen -q -t ed25519 -N '' -C ops@qmd-e2e -f "$T/ops_key" </dev/null
  key=$(cat "$T/ops_key.pub")
  file=$T/ci1.yaml
  cat >"$file" <<YAML
apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata:
  name: ci1
spec:
  runStrategy: Manual
  template:
    metadata:
      annotations:
        kubevirt.io/ignitiondata: '$IGNITION'
    spec:
      hostname: meta-name
      domain:
        cpu: {cores: 1}
        memory: {guest: 512Mi}
        firmware:
          kernelBoot:
            kernelPath: $S/cloud/vmlinuz
            initrdPath: $S/cloud/initrd.img
            kernelArgs: "root=/dev/vda rw console=ttyS0 mitigations=off"
        devices:
          autoattachGraphicsDevice: false
          interfaces: []
          disks:
          - {name: root, disk: {bus: virtio}}
          - {name: cloudinitdisk, disk: {bus: virtio}}
      networks: []
      volumes:
      - {name: root, file: {path: $S/cloud/root.img, format: raw}}
      - name: cloudinitdisk
        cloudInitNoCloud:
          userData: |
            #cloud-config
            hostname: from-userdata
            users:
            - name: ops
              shell: /bin/bash
              ssh_authorized_keys: [$key]
YAML
  qm create -f "$file" >/dev/null || fail "create ci1"
  t0=$(now_ms)
  qm start ci1 >/dev/null || fail "start ci1"
  wait_agent ci1 420
  log "ci1: agent after $((($(now_ms) - t0) / 1000)) s"
  finished() { qm exec ci1 -- /bin/test -f /var/lib/cloud/instance/boot-finished >/dev/null 2>&1; }
  wait_for 300 "cloud-init to finish in ci1" finished
  log "ci1: cloud-init finished after $((($(now_ms) - t0) / 1000)) s"
  uuid=$(show_field ci1 'd["uuid"]')
  [[ "$(qm exec ci1 -- /bin/hostname)" == from-userdata ]] ||
    fail "host name: $(qm exec ci1 -- /bin/hostname)"
  qm exec ci1 -- /usr/bin/id -u ops >/dev/null || fail "no user ops"
  [[ "$(qm exec ci1 -- /bin/cat /home/ops/.ssh/authorized_keys)" == "$key" ]] ||
    fail "ops's authorized_keys: $(qm exec ci1 -- /bin/cat /home/ops/.ssh/authorized_keys)"
  [[ "$(qm exec ci1 -- /bin/cat /var/lib/cloud/data/instance-id)" == "$uuid" ]] ||
    fail "instance-id is not the VM's uuid $uuid"
  qm exec ci1 -- /bin/cat /run/cloud-init/result.json | grep_q 'DataSourceNoCloud' ||
    fail "cloud-init did not use the NoCloud datasource"
  log "PASS Debian's cloud-init applied the host name, the user and its SSH key (instance-id = uuid)"
  # Ignition's config through fw_cfg, as the guest's qemu_fw_cfg driver shows it.
  [[ "$(qm exec ci1 -- /bin/cat /sys/firmware/qemu_fw_cfg/by_name/opt/com.coreos/config/raw)" == \
    "$IGNITION" ]] || fail "the guest's fw_cfg opt/com.coreos/config is not the annotation"
  [[ "$(stat -c %u:%a "$T/run/vms/ci1/ignition.json")" == "$(qemu_owner ci1):600" ]] ||
    fail "ignition.json owner/mode $(stat -c %u:%a "$T/run/vms/ci1/ignition.json")"
  log "PASS the kubevirt.io/ignitiondata annotation reaches the guest through fw_cfg"
  # qmd runs at debug verbosity here: SeaBIOS's debug port goes to the firmware log.
  grep_q '^SeaBIOS (version' "$T/run/vms/ci1/firmware.log" ||
    fail "no SeaBIOS banner in firmware.log: $(head -c 300 "$T/run/vms/ci1/firmware.log")"
  log "PASS the firmware's debug port is in the VM's firmware.log"
  qm kill ci1 >/dev/null || fail "kill ci1"
  wait_state ci1 stopped 30
  [[ ! -e "$T/run/vms/ci1/ignition.json" && ! -e "$T/run/vms/ci1/seed-cloudinitdisk.iso" ]] ||
    fail "the seed or the Ignition config outlived the run"
  [[ -s "$T/run/vms/ci1/firmware.log" ]] || fail "the firmware log went with the run"
  log "PASS the seed and the Ignition config go with the run; the firmware log stays"
}

scenario_bad_payload
scenario_config_drive
scenario_missing_secret
scenario_sysprep
scenario_real_cloud_init
echo "PASS cloud-init"
