#!/usr/bin/env bash
# qmd's own directories against a compromised QEMU: as the VM's own QEMU uid, plant links in
# the VM's run dir (which that uid owns) and in the TPM state dir (its own too), pointing at
# root-owned files and directories made here; then start, kill (the guest's shutdown adds
# nothing here), start again and delete the VMs through qmd. The root files keep owner, mode
# and content; the per-VM state dir stays root's (0711) with only the VARS copy and the TPM
# state the VM's uid's; teardown leaves only the
# logs in the run dir. One VM keeps its VARS and TPM state (state dir), one has them per run
# (run dir). Needs root (setpriv to the VM's uid).
source "$(dirname "$0")/lib.sh"
if [[ $(id -u) -ne 0 ]]; then
  echo "SKIP: needs root (the QEMU user is another user)"
  exit 0
fi
e2e_setup


# Root's files the attack aims at: a file, a directory with a file in it.
V=$T/victim
mkdir -p "$V/dir"
echo "root's secret" >"$V/file"
echo "root's inner secret" >"$V/dir/inner"
chmod 0600 "$V/file" "$V/dir/inner"
chmod 0700 "$V/dir"
victims_state() {
  local f
  for f in "$V/file" "$V/dir" "$V/dir/inner"; do
    stat -c '%n %u:%g %a %s' "$f"
  done
  cat "$V/file" "$V/dir/inner"
}
before=$(victims_state)
victims_unchanged() {
  [[ "$(victims_state)" == "$before" ]] || fail "root's files changed after $1:
$(victims_state)
was:
$before"
}

vm_spec() {  # vm_spec NAME PERSISTENT(true|false)
  cat >"$T/$1.yaml" <<EOS
apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata:
  name: $1
spec:
  runStrategy: Manual
  template:
    spec:
      terminationGracePeriodSeconds: 5
      domain:
        cpu: {cores: 1}
        memory: {guest: 128Mi}
        firmware:
          bootloader:
            efi: {secureBoot: false, persistent: $2}
          kernelBoot:
            kernelPath: $S/guest/vmlinuz
            initrdPath: $S/guest/initramfs.img
            kernelArgs: "console=ttyS0 panic=-1 quiet mitigations=off"
        devices:
          autoattachGraphicsDevice: false
          interfaces: []
          tpm: {persistent: $2}
      networks: []
EOS
  qm create -f "$T/$1.yaml" >/dev/null || fail "create $1"
}

# Links to root's files under every name qmd uses in a run dir, and a few more.
plant_run_dir() {
  local dir=$T/run/vms/$1 name
  for name in qemu.pid swtpm.pid swtpm.log swtpm-setup.log prepare.log OVMF_VARS.fd \
    empty-x.img planted; do
    as_vm_uid "$1" rm -f "$dir/$name"
    as_vm_uid "$1" ln -s "$V/file" "$dir/$name" || fail "plant $dir/$name as $1's uid"
  done
  for name in tpm migration-tls planted-dir; do
    as_vm_uid "$1" rm -rf "$dir/$name"
    as_vm_uid "$1" ln -s "$V/dir" "$dir/$name" || fail "plant $dir/$name as $1's uid"
  done
}

check_state_dir() {  # the per-VM state dir is root's, 0711; only the VARS and TPM are QEMU's
  local dir=$T/state/vms/$1 uid
  uid=$(vm_uid "$1")
  [[ "$(stat -c '%U %a' "$dir")" == "root 711" ]] ||
    fail "$dir is $(stat -c '%U %a' "$dir"), not root's 0711"
  [[ "$(stat -c %u:%g "$dir/OVMF_VARS.fd")" == "$uid:$uid" ]] || fail "the VARS are not $1's uid's"
  [[ "$(stat -c %u:%g "$dir/tpm")" == "$uid:$uid" ]] || fail "the TPM state is not $1's uid's"
  as_vm_uid "$1" touch "$dir/planted" 2>/dev/null && fail "the VM's uid can write in $dir"
  return 0
}

only_logs_left() {  # after a stop: the run dir holds regular log files, nothing else
  local dir=$T/run/vms/$1 left
  left=$(find "$dir" -mindepth 1 \( ! -type f -o ! -name '*.log' \) -printf '%f ')
  [[ -z "$left" ]] || fail "left in $dir after the run: $left"
}

log "a VM with persistent VARS and TPM: the state dir stays root's"
vm_spec pers true
qm start pers >/dev/null || fail "start pers"
wait_state pers running 60
check_state_dir pers
[[ "$(stat -c '%u:%g %a' "$T/run/vms/pers")" == "$(vm_uid pers):$(vm_uid pers) 750" ]] ||
  fail "the run dir is not the VM's uid's: $(stat -c '%u:%g %a' "$T/run/vms/pers")"
u=$(vm_uid pers)
[[ "$(proc_status "$(vm_pid pers)" Uid | tr -s '\t' ' ')" == "$u $u $u $u" ]] ||
  fail "QEMU does not run as the VM's uid $u: Uid $(proc_status "$(vm_pid pers)" Uid)"

log "links planted in the TPM state and the run dir while it runs; kill, start, kill, start"
as_vm_uid pers ln -s "$V/file" "$T/state/vms/pers/tpm/link" || fail "plant in the TPM state"
as_vm_uid pers ln -s "$V/dir" "$T/state/vms/pers/tpm/dirlink" || fail "plant in the TPM state"
plant_run_dir pers
qm kill pers >/dev/null || fail "kill pers"
wait_state pers stopped 30
victims_unchanged "kill with planted links"
only_logs_left pers
plant_run_dir pers
qm start pers >/dev/null || fail "start pers with links planted: $(qm show pers 2>&1 | tail -n 5)"
wait_state pers running 60
victims_unchanged "a start with planted links"
check_state_dir pers
[[ -L "$T/state/vms/pers/tpm/link" ]] || fail "the link in the TPM state was replaced, not left"
[[ "$(readlink "$T/state/vms/pers/tpm/dirlink")" == "$V/dir" ]] || fail "the directory link changed"
plant_run_dir pers
qm kill pers >/dev/null || fail "kill pers"
wait_state pers stopped 30
victims_unchanged "a kill with planted links"
plant_run_dir pers
qm start pers >/dev/null || fail "start pers again"
wait_state pers running 60
victims_unchanged "a second start with planted links"

log "FIFOs planted as swtpm's pid and log files: a restarted qmd does not hang on them"
for name in swtpm.pid swtpm.log; do
  as_vm_uid pers rm -f "$T/run/vms/pers/$name"
  as_vm_uid pers mkfifo "$T/run/vms/pers/$name" || fail "plant a FIFO as $name"
done
kill_qmd
start_qmd  # fails unless the API answers within 20 s
show=$(timeout 20 "$QMCTL_BIN" -s "$SOCK" show pers 2>&1) || fail "qmctl show after the restart: $show"
grep -q "running" <<<"$show" || fail "pers is not adopted as running: $show"
victims_unchanged "a restart with FIFOs as pid files"

log "a VM whose VARS and TPM live in the run dir: links in their place"
vm_spec eph false
qm start eph >/dev/null || fail "start eph"
wait_state eph running 60
qm kill eph >/dev/null || fail "kill eph"
wait_state eph stopped 30
plant_run_dir eph
qm start eph >/dev/null || fail "start eph with links planted"
wait_state eph running 60
victims_unchanged "a start with links in the VARS' and the TPM state's place"
[[ -f "$T/run/vms/eph/OVMF_VARS.fd" && ! -L "$T/run/vms/eph/OVMF_VARS.fd" ]] ||
  fail "the VARS copy is not a new file"
[[ -d "$T/run/vms/eph/tpm" && ! -L "$T/run/vms/eph/tpm" ]] || fail "the TPM state is not a new directory"

log "links planted while running, then delete"
plant_run_dir eph
plant_run_dir pers
qm kill eph >/dev/null || fail "kill eph"
qm kill pers >/dev/null || fail "kill pers"
wait_state eph stopped 30
wait_state pers stopped 30
only_logs_left eph
qm delete eph >/dev/null || fail "delete eph"
qm delete pers >/dev/null || fail "delete pers"
victims_unchanged "kill and delete"
[[ ! -e "$T/run/vms/eph" && ! -e "$T/state/vms/pers" ]] || fail "delete left the VM's directories"
log "PASS"
